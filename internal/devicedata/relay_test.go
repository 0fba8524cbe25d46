package devicedata

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"
)

// tokenPub is the Publisher of a node: it passes the clientToken of every
// action it sends to the test, as the device would read it.
type tokenPub struct{ tokens chan string }

func (p tokenPub) Publish(_ context.Context, _, _, _ string, payload []byte, _ byte) error {
	var m struct{ ClientToken string }
	if err := json.Unmarshal(payload, &m); err != nil {
		return err
	}
	p.tokens <- m.ClientToken
	return nil
}

// fanout is an ActionRelay delivering every reply to every node, as the bus
// does (the sender included).
type fanout struct {
	mu    sync.Mutex
	nodes []*Service
	sent  []RelayedActionReply
	taken int // relayed replies some node had a call for
	err   error
}

func (f *fanout) Publish(ctx context.Context, r RelayedActionReply) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.sent = append(f.sent, r)
	for _, s := range f.nodes {
		if s.HandleRelayed(ctx, r) {
			f.taken++
		}
	}
	return nil
}

// TestActionReplyRelayed: a call made on node B is completed by a reply the
// device sends to node A; the reply is recorded once, by A.
func TestActionReplyRelayed(t *testing.T) {
	tests := []struct {
		name      string
		output    string
		outputErr bool
	}{
		{"valid output", `{}`, false},
		{"invalid output", `{"x":1}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newRecordingStore()
			ctx := context.Background()
			tokens := make(chan string, 1)
			a := start(t, Config{Store: st, ActionTimeout: 10 * time.Second})
			b := start(t, Config{Store: st, Publisher: tokenPub{tokens}, ActionTimeout: 10 * time.Second})
			relay := &fanout{nodes: []*Service{a, b}}
			a.SetRelay(relay)
			b.SetRelay(relay)
			if _, err := b.DefineModel(ctx, "P", model); err != nil {
				t.Fatal(err)
			}
			type result struct {
				r   ActionResult
				err error
			}
			done := make(chan result, 1)
			go func() {
				r, err := b.CallAction(ctx, "P", "d", "go", nil, true)
				done <- result{r, err}
			}()
			token := <-tokens
			err := a.ActionReply(ctx, "P", "d", ActionResult{ClientToken: token, Code: 7, Status: "done", Output: json.RawMessage(tc.output)})
			if err != nil {
				t.Fatalf("ActionReply on the device's node = %v, want nil (relayed)", err)
			}
			got := <-done
			if got.err != nil {
				t.Fatalf("CallAction: %v", got.err)
			}
			if got.r.ClientToken != token || got.r.Code != 7 || got.r.Status != "done" || string(got.r.Output) != tc.output {
				t.Errorf("CallAction = %+v", got.r)
			}
			if (got.r.OutputErr != nil) != tc.outputErr {
				t.Errorf("OutputErr = %v, want error %v", got.r.OutputErr, tc.outputErr)
			}
			relay.mu.Lock()
			if len(relay.sent) != 1 || relay.taken != 1 {
				t.Errorf("relayed %d replies, %d taken; want 1, 1", len(relay.sent), relay.taken)
			}
			relay.mu.Unlock()
			// The reply is recorded once, by the node that received it.
			// Writes queued after the reply commit after it.
			if err := a.Write(ctx, event("after-a")); err != nil {
				t.Fatal(err)
			}
			if err := b.Write(ctx, event("after-b")); err != nil {
				t.Fatal(err)
			}
			st.rmu.Lock()
			if len(st.replies) != 1 || st.replies[0].ClientToken != token {
				t.Errorf("recorded replies %+v, want one for %s", st.replies, token)
			}
			st.rmu.Unlock()
			// A second copy of the reply finds no call anywhere.
			if b.HandleRelayed(ctx, RelayedActionReply{ProductID: "P", DeviceName: "d", ClientToken: token}) {
				t.Error("a duplicate relayed reply completed a call")
			}
		})
	}
}

// TestActionReplyRelayErrors: a reply no call waits for is relayed (nil) in a
// cluster, ErrUnknownCall on a single node; a relay failure is returned; a
// reply without a clientToken is not relayed.
func TestActionReplyRelayErrors(t *testing.T) {
	errRelay := errors.New("relay down")
	tests := []struct {
		name    string
		relay   *fanout // nil: single node
		token   string
		want    error
		relayed int
	}{
		{"single node", nil, "act-1", ErrUnknownCall, 0},
		{"cluster", &fanout{}, "act-1", nil, 1},
		{"relay down", &fanout{err: errRelay}, "act-1", errRelay, 0},
		{"no token", &fanout{}, "", ErrUnknownCall, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Config{Store: newFakeStore()})
			if tc.relay != nil {
				s.SetRelay(tc.relay)
			}
			err := s.ActionReply(context.Background(), "P", "d", ActionResult{ClientToken: tc.token})
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("ActionReply = %v, want %v", err, tc.want)
			}
			if tc.relay != nil && len(tc.relay.sent) != tc.relayed {
				t.Errorf("relayed %d, want %d", len(tc.relay.sent), tc.relayed)
			}
		})
	}
}
