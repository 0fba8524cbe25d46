package devicedata

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"
)

// recordingStore is a fakeStore that is also a RecordStore.
type recordingStore struct {
	*fakeStore
	rmu     sync.Mutex
	raw     []RawRecord
	replies []CallReply
	keeps   []int
	calls   map[string]CallRecord
}

func newRecordingStore() *recordingStore {
	return &recordingStore{fakeStore: newFakeStore(), calls: map[string]CallRecord{}}
}

func (r *recordingStore) WriteRecords(_ context.Context, raw []RawRecord, replies []CallReply, keep int) error {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	r.raw = append(r.raw, raw...)
	r.replies = append(r.replies, replies...)
	r.keeps = append(r.keeps, keep)
	return nil
}

func (r *recordingStore) RawRecords(context.Context, RawQuery) ([]RawRecord, int64, error) {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	return append([]RawRecord(nil), r.raw...), int64(len(r.raw)), nil
}

func (r *recordingStore) PutCall(_ context.Context, c CallRecord) error {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	r.calls[c.ClientToken] = c
	return nil
}

func (r *recordingStore) Call(_ context.Context, _, _, tok string) (CallRecord, error) {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	c, ok := r.calls[tok]
	if !ok {
		return CallRecord{}, ErrCallNotFound
	}
	return c, nil
}

func (r *recordingStore) DeleteRecordsBefore(context.Context, time.Time) (int64, error) {
	return 0, nil
}

// rawSink records raw payloads handed to the RawPublisher.
type rawSink struct {
	mu   sync.Mutex
	subs []string
}

func (s *rawSink) PublishRaw(_ context.Context, pid, dn string, p []byte) error {
	s.mu.Lock()
	s.subs = append(s.subs, pid+"/"+dn+":"+string(p))
	s.mu.Unlock()
	return nil
}

func TestRawUplinkAndReplies(t *testing.T) {
	st := newRecordingStore()
	sink := &rawSink{}
	s := start(t, Config{Store: st, RawPublisher: sink, RawKeep: 7})
	ctx := context.Background()
	payload := []byte{0, 1, 0xff}
	done := make(chan error, 1)
	if err := s.RawUplink(ctx, "P", "d", payload, func(err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	payload[0] = 9 // the caller may reuse its buffer
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, Batch{Replies: []CallReply{{ProductID: "P", DeviceName: "d", ClientToken: "t"}}}); err != nil {
		t.Fatal(err)
	}
	st.rmu.Lock()
	defer st.rmu.Unlock()
	if len(st.raw) != 1 || string(st.raw[0].Payload) != "\x00\x01\xff" || len(st.replies) != 1 || st.keeps[0] != 7 {
		t.Errorf("records: raw %+v, replies %+v, keeps %v", st.raw, st.replies, st.keeps)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.subs) != 1 || sink.subs[0] != "P/d:\x00\x01\xff" {
		t.Errorf("published %q", sink.subs)
	}
}

func TestRawUplinkWithoutRecordStore(t *testing.T) {
	s := start(t, Config{Store: newFakeStore()})
	if err := s.RawUplink(context.Background(), "P", "d", []byte("x"), nil); err == nil {
		t.Error("RawUplink without a RecordStore succeeded")
	}
}

// capturePub records published messages.
type capturePub struct {
	mu     sync.Mutex
	topics []string
	msgs   [][]byte
}

func (c *capturePub) Publish(_ context.Context, _, _, topic string, payload []byte, _ byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.topics = append(c.topics, topic)
	c.msgs = append(c.msgs, payload)
	return nil
}

func TestSendAlertFence(t *testing.T) {
	st := newRecordingStore()
	pub := &capturePub{}
	s := start(t, Config{Store: st, Publisher: pub})
	ctx := context.Background()
	tests := []struct {
		name    string
		fence   AlertFence
		wantErr error
	}{
		{"ok", AlertFence{AlertType: "Out", AlertCondition: "Out", FenceName: "f", Longitude: -10, Latitude: 10}, nil},
		{"no type", AlertFence{FenceName: "f"}, ErrBadFence},
		{"no name", AlertFence{AlertType: "In"}, ErrBadFence},
		{"longitude", AlertFence{AlertType: "In", FenceName: "f", Longitude: 181}, ErrBadFence},
		{"latitude", AlertFence{AlertType: "In", FenceName: "f", Latitude: -91}, ErrBadFence},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := s.SendAlertFence(ctx, "P", "d", tc.fence)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			c, err := s.Call(ctx, "P", "d", tok)
			if err != nil || c.Method != CallAlertFence || c.Name != "f" {
				t.Errorf("record = %+v, %v", c, err)
			}
			pub.mu.Lock()
			defer pub.mu.Unlock()
			var m struct {
				Method      string          `json:"method"`
				ClientToken string          `json:"clientToken"`
				Data        json.RawMessage `json:"data"`
			}
			last := len(pub.msgs) - 1
			if err := json.Unmarshal(pub.msgs[last], &m); err != nil || pub.topics[last] != "$thing/down/service/P/d" ||
				m.Method != "alert_fence_event" || m.ClientToken != tok || string(m.Data) != string(c.Request) {
				t.Errorf("sent %s %s (%v)", pub.topics[last], pub.msgs[last], err)
			}
		})
	}
}
