package devauth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/registry"
)

// countingSource serves devices from a map and counts lookups.
type countingSource struct {
	mu    sync.Mutex
	devs  map[string]DeviceAuth
	calls int
	// during, when set, runs inside a lookup (after the read).
	during func()
}

func (s *countingSource) DeviceAuth(_ context.Context, pid, dn string) (DeviceAuth, error) {
	s.mu.Lock()
	s.calls++
	d, ok := s.devs[pid+"/"+dn]
	during := s.during
	s.mu.Unlock()
	if during != nil {
		during()
	}
	if !ok {
		return DeviceAuth{}, fmt.Errorf("%s/%s: %w", pid, dn, registry.ErrDeviceNotFound)
	}
	return d, nil
}

func (s *countingSource) set(d DeviceAuth) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.devs[d.ProductID+"/"+d.DeviceName] = d
}

func (s *countingSource) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func TestCache(t *testing.T) {
	dev := func(pid, dn string, enabled bool) DeviceAuth {
		return DeviceAuth{ProductID: pid, DeviceName: dn, EncryptionType: registry.EncryptionKey, Enabled: enabled}
	}
	type step struct {
		op          string // "get", "invalidate", "invalidateProduct", "disable", "advance"
		pid, dn     string
		wantEnabled bool
		wantErr     error
		wantCalls   int // source lookups so far
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"second lookup is cached", []step{
			{op: "get", pid: "P1", dn: "a", wantEnabled: true, wantCalls: 1},
			{op: "get", pid: "P1", dn: "a", wantEnabled: true, wantCalls: 1},
		}},
		{"expiry asks again", []step{
			{op: "get", pid: "P1", dn: "a", wantEnabled: true, wantCalls: 1},
			{op: "advance"},
			{op: "get", pid: "P1", dn: "a", wantEnabled: true, wantCalls: 2},
		}},
		{"unknown devices are not cached", []step{
			{op: "get", pid: "P1", dn: "nope", wantErr: registry.ErrDeviceNotFound, wantCalls: 1},
			{op: "get", pid: "P1", dn: "nope", wantErr: registry.ErrDeviceNotFound, wantCalls: 2},
		}},
		{"invalidate sees a disable at once", []step{
			{op: "get", pid: "P1", dn: "a", wantEnabled: true, wantCalls: 1},
			{op: "disable", pid: "P1", dn: "a"},
			{op: "get", pid: "P1", dn: "a", wantEnabled: true, wantCalls: 1},
			{op: "invalidate", pid: "P1", dn: "a"},
			{op: "get", pid: "P1", dn: "a", wantEnabled: false, wantCalls: 2},
		}},
		{"invalidate product forgets only its devices", []step{
			{op: "get", pid: "P1", dn: "a", wantEnabled: true, wantCalls: 1},
			{op: "get", pid: "P2", dn: "b", wantEnabled: true, wantCalls: 2},
			{op: "invalidateProduct", pid: "P1"},
			{op: "get", pid: "P1", dn: "a", wantEnabled: true, wantCalls: 3},
			{op: "get", pid: "P2", dn: "b", wantEnabled: true, wantCalls: 3},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1_700_000_000, 0)
			src := &countingSource{devs: map[string]DeviceAuth{}}
			src.set(dev("P1", "a", true))
			src.set(dev("P2", "b", true))
			c := NewCache(src, CacheConfig{TTL: time.Second, Now: func() time.Time { return now }})
			for i, s := range tt.steps {
				switch s.op {
				case "get":
					d, err := c.DeviceAuth(context.Background(), s.pid, s.dn)
					if !errors.Is(err, s.wantErr) {
						t.Fatalf("step %d: err %v, want %v", i, err, s.wantErr)
					}
					if err == nil && d.Enabled != s.wantEnabled {
						t.Fatalf("step %d: enabled %v, want %v", i, d.Enabled, s.wantEnabled)
					}
					if got := src.count(); got != s.wantCalls {
						t.Fatalf("step %d: %d source lookups, want %d", i, got, s.wantCalls)
					}
				case "invalidate":
					c.Invalidate(s.pid, s.dn)
				case "invalidateProduct":
					c.InvalidateProduct(s.pid)
				case "disable":
					src.set(dev(s.pid, s.dn, false))
				case "advance":
					now = now.Add(time.Second)
				}
			}
		})
	}
}

func TestCacheBounded(t *testing.T) {
	src := &countingSource{devs: map[string]DeviceAuth{}}
	for i := range 50 {
		src.set(DeviceAuth{ProductID: "P1", DeviceName: fmt.Sprint(i), Enabled: true})
	}
	c := NewCache(src, CacheConfig{MaxEntries: 10})
	for i := range 50 {
		if _, err := c.DeviceAuth(context.Background(), "P1", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		if n := c.Len(); n > 10 {
			t.Fatalf("after %d lookups the cache holds %d entries, max 10", i+1, n)
		}
	}
}

// A lookup that read the source before an invalidation must not store its
// (possibly stale) result.
func TestCacheInvalidateDuringLookup(t *testing.T) {
	src := &countingSource{devs: map[string]DeviceAuth{}}
	src.set(DeviceAuth{ProductID: "P1", DeviceName: "a", Enabled: true})
	c := NewCache(src, CacheConfig{})
	src.during = func() {
		src.mu.Lock()
		src.during = nil
		src.mu.Unlock()
		c.Invalidate("P1", "a")
	}
	if _, err := c.DeviceAuth(context.Background(), "P1", "a"); err != nil {
		t.Fatal(err)
	}
	if n := c.Len(); n != 0 {
		t.Fatalf("cache holds %d entries after an invalidation during the lookup, want 0", n)
	}
}

// blockingSource answers once release is closed and records the most
// lookups it saw at once.
type blockingSource struct {
	release chan struct{}
	mu      sync.Mutex
	now     int
	most    int
}

func (s *blockingSource) DeviceAuth(ctx context.Context, pid, dn string) (DeviceAuth, error) {
	s.mu.Lock()
	s.now++
	s.most = max(s.most, s.now)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.now--
		s.mu.Unlock()
	}()
	select {
	case <-s.release:
		return DeviceAuth{ProductID: pid, DeviceName: dn}, nil
	case <-ctx.Done():
		return DeviceAuth{}, ctx.Err()
	}
}

func TestCacheLookupWorkers(t *testing.T) {
	src := &blockingSource{release: make(chan struct{})}
	c := NewCache(src, CacheConfig{LookupWorkers: 3})
	const n = 20
	errs := make(chan error, n)
	for i := range n {
		go func() {
			dn := fmt.Sprintf("dev%d", i)
			d, err := c.DeviceAuth(context.Background(), "P1", dn)
			if err == nil && d.DeviceName != dn {
				err = fmt.Errorf("got %s for %s", d.DeviceName, dn)
			}
			errs <- err
		}()
	}
	// Wait until the workers are busy and the others wait for them.
	deadline := time.Now().Add(5 * time.Second)
	for {
		src.mu.Lock()
		busy := src.now
		src.mu.Unlock()
		if busy == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(src.release)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if src.most != 3 {
		t.Fatalf("at most %d lookups at once, want 3 (the worker bound)", src.most)
	}
	if got := c.Len(); got != n {
		t.Fatalf("cached %d, want %d", got, n)
	}
}

func TestCacheLookupCanceled(t *testing.T) {
	src := &blockingSource{release: make(chan struct{})}
	defer close(src.release)
	c := NewCache(src, CacheConfig{LookupWorkers: 1})
	// The only worker is busy with a lookup that does not end.
	go c.DeviceAuth(context.Background(), "P1", "busy")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.DeviceAuth(ctx, "P1", "waiting"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
}
