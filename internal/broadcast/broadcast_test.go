package broadcast

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/registry"
)

type fakeDevices struct{ names []string }

func (f fakeDevices) ListDevices(_ context.Context, flt registry.DeviceFilter) ([]registry.Device, int64, error) {
	var out []registry.Device
	for i := flt.Offset; i < len(f.names) && len(out) < flt.Limit; i++ {
		out = append(out, registry.Device{ProductID: flt.ProductID, Name: f.names[i]})
	}
	return out, int64(len(f.names)), nil
}

type fakePub struct {
	mu      sync.Mutex
	online  map[string]bool
	topics  []string
	block   chan struct{} // non-nil: Publish waits for it
	started chan struct{}
}

func (p *fakePub) Publish(_ context.Context, pid, dn, topic string, _ []byte, _ byte) error {
	if p.block != nil {
		p.started <- struct{}{}
		<-p.block
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.online[dn] {
		return errors.New("offline")
	}
	p.topics = append(p.topics, topic)
	return nil
}

func TestPublishCounts(t *testing.T) {
	var names []string
	online := map[string]bool{}
	for i := range 1203 {
		n := fmt.Sprintf("d%04d", i)
		names = append(names, n)
		online[n] = i%3 == 0
	}
	tests := []struct {
		name          string
		devices       []string
		devs, reached int
	}{
		{"none", nil, 0, 0},
		{"several pages", names, 1203, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub := &fakePub{online: online}
			s, err := New(Config{Devices: fakeDevices{tc.devices}, Publisher: pub})
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Publish(context.Background(), "PID0000001", []byte("hi"), 0)
			if err != nil {
				t.Fatal(err)
			}
			if res.Devices != tc.devs || res.Reached != tc.reached || res.TaskID == 0 {
				t.Errorf("result = %+v", res)
			}
			if len(pub.topics) > 0 && pub.topics[0] != "$broadcast/rxd/PID0000001/d0000" {
				t.Errorf("topic = %s", pub.topics[0])
			}
		})
	}
}

func TestPublishRateLimits(t *testing.T) {
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	pub := &fakePub{online: map[string]bool{"a": true}, block: make(chan struct{}), started: make(chan struct{})}
	s, err := New(Config{Devices: fakeDevices{[]string{"a"}}, Publisher: pub, MinInterval: time.Minute, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	done := make(chan error)
	go func() { _, err := s.Publish(ctx, "PID0000001", nil, 0); done <- err }()
	<-pub.started // the first broadcast is sending
	advance(2 * time.Minute)
	if _, err := s.Publish(ctx, "PID0000001", nil, 0); !errors.Is(err, ErrTaskRunning) {
		t.Errorf("concurrent broadcast: %v, want ErrTaskRunning", err)
	}
	close(pub.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	pub.block = nil
	if _, err := s.Publish(ctx, "PID0000001", nil, 0); !errors.Is(err, ErrRateLimited) {
		t.Errorf("broadcast within the interval: %v, want ErrRateLimited", err)
	}
	if _, err := s.Publish(ctx, "PID0000002", nil, 0); err != nil {
		t.Errorf("other product: %v", err)
	}
	advance(time.Minute)
	if _, err := s.Publish(ctx, "PID0000001", nil, 0); err != nil {
		t.Errorf("after the interval: %v", err)
	}
}
