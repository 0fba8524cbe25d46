package ingest_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
)

// replies is a Publisher that keeps every reply.
type replies struct {
	mu   sync.Mutex
	msgs [][]byte
}

func (r *replies) Publish(_ context.Context, _, _, _ string, payload []byte, _ byte) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, append([]byte(nil), payload...))
	r.mu.Unlock()
	return nil
}

func (r *replies) take() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.msgs
	r.msgs = nil
	return m
}

// FuzzHandleUplink feeds arbitrary payloads to every handled topic: the
// handler must not panic, and every reply it sends synchronously or after a
// commit must be a JSON object under 2 KB.
func FuzzHandleUplink(f *testing.F) {
	for _, s := range []struct {
		kind    uint8
		payload string
	}{
		{0, `{"method":"report","clientToken":"1","params":{"brightness":1}}`},
		{0, `{"method":"get_status"}`},
		{0, `{"code":0,"clientToken":"x"}`},
		{1, `{"method":"events_post","clientToken":"1","events":[{"eventId":"status_report","type":"info","params":{"status":1}}]}`},
		{1, `{"method":"event_post","eventId":"status_report","type":"info","timestamp":1e300,"params":{}}`},
		{2, `{"method":"action_reply","clientToken":"1","code":0,"response":{"err_code":1}}`},
		{3, `{"type":"get","resource":["time"]}`},
		{4, `{"type":"get_log_level","clientToken":{"a":1}}`},
		{0, `{"method":"report","params":[1,2]}`},
		{0, "\xff"},
		{0, `{"method":"get_status","clientToken":"s","showmeta":1}`},
		{5, `{"method":"alert_fence_event_reply","clientToken":"f","timestamp":0,"code":0,"status":"success"}`},
	} {
		f.Add(s.kind, []byte(s.payload))
	}
	pub := &replies{}
	fx := newFixtureWith(f, pub)
	topics := []string{
		"$thing/up/property/PRODUCTA01/dev1", "$thing/up/event/PRODUCTA01/dev1", "$thing/up/action/PRODUCTA01/dev1",
		"$sys/operation/PRODUCTA01/dev1", "$log/operation/PRODUCTA01/dev1", "$thing/up/service/PRODUCTA01/dev1",
	}
	f.Fuzz(func(t *testing.T, kind uint8, payload []byte) {
		fx.h.HandleUplink(context.Background(), dev, topics[int(kind)%len(topics)], payload)
		for _, m := range pub.take() {
			var v map[string]any
			if err := json.Unmarshal(m, &v); err != nil {
				t.Fatalf("reply %q is not a JSON object: %v", m, err)
			}
			if len(m) >= 2048 {
				t.Fatalf("reply of %d bytes", len(m))
			}
		}
	})
}
