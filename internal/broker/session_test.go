package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// memSessions is an in-memory SessionStore.
type memSessions struct {
	mu   sync.Mutex
	data map[string][]byte
}

var _ SessionStore = (*memSessions)(nil)

func (s *memSessions) SaveSession(_ context.Context, clientID string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data == nil {
		s.data = make(map[string][]byte)
	}
	s.data[clientID] = append([]byte(nil), data...)
	return nil
}

func (s *memSessions) LoadSessions(context.Context) (map[string][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]byte, len(s.data))
	for k, v := range s.data {
		out[k] = v
	}
	return out, nil
}

func (s *memSessions) DeleteSession(_ context.Context, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.data, clientID)
	return nil
}

func (s *memSessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.data)
}

func TestSessionsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	store, q := &memSessions{}, &memQueue{}
	opts := Options{OfflinePacing: time.Millisecond}

	first := startBroker(t, opts, Deps{Sessions: store, Queue: q})
	persistentDevice(t, first, "keep")
	c := mustDial(t, clientOpts{url: first.url(ListenerTCP), dn: "gone", clean: true})
	wait(t, c.Subscribe(downTopic("gone"), 1, nil))
	first.stop()
	if n := store.len(); n != 1 {
		t.Fatalf("%d sessions saved, want 1 (clean sessions are not saved)", n)
	}

	second := startBroker(t, opts, Deps{Sessions: store, Queue: q})
	if n := store.len(); n != 0 {
		t.Fatalf("%d records left after restore", n)
	}
	if got, err := second.Deliver(ctx, testPID, "keep", downTopic("keep"), []byte("after restart"), 1); err != nil || got != Queued {
		t.Fatalf("Deliver = %v, %v; want queued", got, err)
	}
	if _, err := second.Deliver(ctx, testPID, "gone", downTopic("gone"), []byte("x"), 1); !errors.Is(err, ErrDeviceOffline) {
		t.Fatalf("clean session restored: %v", err)
	}
	col := &collector{}
	_, code, present, err := dial(t, clientOpts{url: second.url(ListenerTCP), dn: "keep", password: testPassword, onMsg: col.handle})
	if err != nil || code != 0 || !present {
		t.Fatalf("reconnect: code %d, present %v, %v", code, present, err)
	}
	if got := col.waitN(t, 1); got[0] != "after restart" {
		t.Fatalf("received %v", got)
	}
}

func TestSessionExpiry(t *testing.T) {
	ctx := context.Background()
	q := &memQueue{}
	tb := startBroker(t, Options{SessionExpiry: time.Second}, Deps{Queue: q})
	persistentDevice(t, tb, "old")
	if _, err := tb.Deliver(ctx, testPID, "old", downTopic("old"), []byte("x"), 1); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		if _, ok := tb.srv.Clients.Get(testPID + "old"); ok {
			return errors.New("session still present")
		}
		if n, _ := q.Len(ctx, testPID+"old"); n != 0 {
			return fmt.Errorf("%d queued", n)
		}
		return nil
	})
	if _, ok := tb.srv.Topics.Subscribers(downTopic("old")).Subscriptions[testPID+"old"]; ok {
		t.Fatal("subscription of the expired session left in the topic index")
	}
	if _, err := tb.Deliver(ctx, testPID, "old", downTopic("old"), []byte("x"), 1); !errors.Is(err, ErrDeviceOffline) {
		t.Fatalf("Deliver after expiry: %v", err)
	}
}

func FuzzSessionRecord(f *testing.F) {
	f.Add([]byte(`{"v":1,"protocol_level":4,"listener":"tcp","disconnected":1,"subscriptions":[{"filter":"a/b","qos":1}],"inflight":[{"id":1,"topic":"a/b","payload":"eA==","qos":1}]}`))
	f.Add([]byte(`{"v":1,"subscriptions":[{"filter":"","qos":9}]}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := New(Options{TCPAddr: "127.0.0.1:0"}, Deps{Authenticator: &fakeAuth{}, Sessions: &memSessions{data: map[string][]byte{"X": data}}})
		if err != nil {
			t.Fatal(err)
		}
		defer b.closeListeners()
		if err := b.restoreSessions(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
