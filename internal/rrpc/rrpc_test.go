package rrpc

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

var errOffline = errors.New("offline")

// echoPub answers every request as a device would: on the txd topic with the
// same process id, through the service's uplink path.
type echoPub struct {
	s       *Service
	reply   func(req []byte) []byte // nil: no answer
	offline bool
}

func (p *echoPub) Publish(ctx context.Context, pid, dn, topic string, payload []byte, qos byte) error {
	if p.offline {
		return errOffline
	}
	t, err := protocol.ParseTopic(topic)
	if err != nil || t.Family != protocol.FamilyRRPC || t.Direction != protocol.Down || qos != 0 {
		return errors.New("bad request topic " + topic)
	}
	if p.reply != nil {
		out := p.reply(payload)
		go p.s.HandleUplink(ctx, protocol.Topic{Family: protocol.FamilyRRPC, Direction: protocol.Up,
			ProductID: pid, DeviceName: dn, Rest: t.Rest}, out)
	}
	return nil
}

func TestCall(t *testing.T) {
	tests := []struct {
		name    string
		pub     echoPub
		want    string
		wantErr error
	}{
		{"replied", echoPub{reply: func(b []byte) []byte { return []byte(strings.ToUpper(string(b))) }}, "HELLO", nil},
		{"timeout", echoPub{}, "", ErrTimeout},
		{"offline", echoPub{offline: true}, "", errOffline},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub := tc.pub
			s := New(&pub, 50*time.Millisecond, nil)
			pub.s = s
			r, err := s.Call(context.Background(), "PID0000001", "dev", []byte("hello"))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if string(r.Payload) != tc.want || r.MessageID == 0 {
				t.Errorf("reply = %+v", r)
			}
		})
	}
}

func TestHandleReplyUnknown(t *testing.T) {
	s := New(&echoPub{}, 0, nil)
	for _, id := range []string{"1", "x", ""} {
		if s.HandleReply("PID0000001", "dev", id, nil) {
			t.Errorf("reply %q matched no call but was taken", id)
		}
	}
}

func TestCallIDsUnique(t *testing.T) {
	pub := &echoPub{reply: func(b []byte) []byte { return b }}
	s := New(pub, time.Second, func() time.Time { return time.UnixMilli(1000) })
	pub.s = s
	seen := map[int64]bool{}
	for range 5 {
		r, err := s.Call(context.Background(), "PID0000001", "dev", []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if seen[r.MessageID] || r.MessageID <= 1000 {
			t.Errorf("message id %d repeated or not after the seed", r.MessageID)
		}
		seen[r.MessageID] = true
	}
}

// fanout is a Relay delivering every reply to every node, as the bus does
// (the sender included).
type fanout struct {
	mu    sync.Mutex
	nodes []*Service
	sent  []RelayedReply
	taken int
}

func (f *fanout) Publish(_ context.Context, r RelayedReply) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, r)
	for _, s := range f.nodes {
		if s.HandleRelayed(r) {
			f.taken++
		}
	}
	return nil
}

// otherNodePub sends the request to a device connected to another node: the
// device's reply arrives there, through that node's uplink path.
type otherNodePub struct{ deviceNode *Service }

func (p otherNodePub) Publish(ctx context.Context, pid, dn, topic string, payload []byte, _ byte) error {
	t, err := protocol.ParseTopic(topic)
	if err != nil {
		return err
	}
	go p.deviceNode.HandleUplink(ctx, protocol.Topic{Family: protocol.FamilyRRPC, Direction: protocol.Up,
		ProductID: pid, DeviceName: dn, Rest: t.Rest}, []byte(strings.ToUpper(string(payload))))
	return nil
}

// TestCallRelayed: a call made on node B gets the reply the device sends to
// node A, through the relay.
func TestCallRelayed(t *testing.T) {
	a := New(&echoPub{}, time.Second, nil)
	b := New(otherNodePub{deviceNode: a}, 10*time.Second, nil)
	relay := &fanout{nodes: []*Service{a, b}}
	a.SetRelay(relay, nil)
	b.SetRelay(relay, nil)
	r, err := b.Call(context.Background(), "PID0000001", "dev", []byte("hello"))
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if string(r.Payload) != "HELLO" {
		t.Errorf("reply = %q, want HELLO", r.Payload)
	}
	relay.mu.Lock()
	defer relay.mu.Unlock()
	if len(relay.sent) != 1 || relay.taken != 1 || relay.sent[0].ProcessID != r.MessageID {
		t.Errorf("relayed %+v, %d taken; want one reply for %d, taken once", relay.sent, relay.taken, r.MessageID)
	}
}

// TestHandleUplinkRelay: only replies no local call waits for, with a valid
// process id, are relayed, and only when a relay is set.
func TestHandleUplinkRelay(t *testing.T) {
	up := func(id string) protocol.Topic {
		return protocol.Topic{Family: protocol.FamilyRRPC, Direction: protocol.Up, ProductID: "PID0000001", DeviceName: "dev", Rest: id}
	}
	tests := []struct {
		name    string
		relay   bool
		id      string
		relayed int
	}{
		{"cluster, unknown id", true, "42", 1},
		{"cluster, bad id", true, "x", 0},
		{"single node", false, "42", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(&echoPub{}, 0, nil)
			relay := &fanout{}
			if tc.relay {
				s.SetRelay(relay, nil)
			}
			s.HandleUplink(context.Background(), up(tc.id), []byte("p"))
			if len(relay.sent) != tc.relayed {
				t.Errorf("relayed %+v, want %d", relay.sent, tc.relayed)
			}
			if tc.relayed == 1 && (relay.sent[0].ProcessID != 42 || string(relay.sent[0].Payload) != "p") {
				t.Errorf("relayed %+v", relay.sent[0])
			}
		})
	}
	// A reply with a local call is not relayed.
	relay := &fanout{}
	pub := &echoPub{reply: func(b []byte) []byte { return b }}
	s := New(pub, time.Second, nil)
	pub.s = s
	s.SetRelay(relay, nil)
	if _, err := s.Call(context.Background(), "PID0000001", "dev", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if len(relay.sent) != 0 {
		t.Errorf("a reply taken locally was relayed: %+v", relay.sent)
	}
}

// TestNodeTagIDs: with a node tag, message ids carry the tag above a
// 13-digit millisecond counter and stay within the 16 characters the C SDK
// keeps of a process id; nodes with different tags never share an id.
func TestNodeTagIDs(t *testing.T) {
	now := func() time.Time { return time.UnixMilli(1_764_000_000_000) }
	tests := []struct {
		tag  int64
		want int64 // the first id
	}{
		{1, 1*nodeTagUnit + 1_764_000_000_001},
		{899, 899*nodeTagUnit + 1_764_000_000_001},
		{900, 2*nodeTagUnit + 1_764_000_000_001}, // out of range: folded into 1..899
	}
	for _, tt := range tests {
		s := New(nil, time.Second, now)
		s.UseNodeTag(tt.tag)
		if got := s.next.Add(1); got != tt.want {
			t.Errorf("tag %d: first id %d, want %d", tt.tag, got, tt.want)
		}
		if n := len(strconv.FormatInt(tt.want, 10)); n > 16 {
			t.Errorf("tag %d: id has %d digits, the C SDK keeps 16", tt.tag, n)
		}
		if tt.want >= 1<<53 {
			t.Errorf("tag %d: id %d is not exact as a JavaScript number", tt.tag, tt.want)
		}
	}
	if a, b := NodeTag("node-a"), NodeTag("node-b"); a < 1 || a > maxNodeTag || b < 1 || b > maxNodeTag {
		t.Errorf("NodeTag out of range: %d, %d", a, b)
	}
}
