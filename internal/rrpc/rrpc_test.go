package rrpc

import (
	"context"
	"errors"
	"strings"
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
