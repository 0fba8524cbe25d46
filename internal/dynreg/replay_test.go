package dynreg

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestReplayCache(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	type step struct {
		key   string
		at    time.Duration // after t0
		fresh bool
		err   error
	}
	tests := []struct {
		name  string
		max   int
		steps []step
	}{
		{"replay refused", 10, []step{{"a", 0, true, nil}, {"a", time.Minute, false, nil}, {"b", time.Minute, true, nil}}},
		{"accepted again after ttl", 10, []step{{"a", 0, true, nil}, {"a", 10 * time.Minute, true, nil}, {"a", 11 * time.Minute, false, nil}}},
		{"full of live entries", 2, []step{{"a", 0, true, nil}, {"b", 0, true, nil}, {"c", time.Second, false, errReplayCacheFull}}},
		{"room after expiry", 2, []step{{"a", 0, true, nil}, {"b", time.Minute, true, nil}, {"c", 10 * time.Minute, true, nil}, {"b", 10 * time.Minute, false, nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newReplayCache(10*time.Minute, tt.max)
			for i, s := range tt.steps {
				fresh, err := c.add(s.key, t0.Add(s.at))
				if fresh != s.fresh || !errors.Is(err, s.err) {
					t.Fatalf("step %d (%s): fresh=%v err=%v, want %v %v", i, s.key, fresh, err, s.fresh, s.err)
				}
			}
		})
	}
}

func TestReplayCacheCompacts(t *testing.T) {
	c := newReplayCache(time.Second, 100)
	t0 := time.Unix(1_000_000, 0)
	for i := range 1000 {
		if _, err := c.add(string(rune('a'+i%26))+time.Duration(i).String(), t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.len(); n > 2 {
		t.Fatalf("%d live entries, want at most 2", n)
	}
	if len(c.queue) > 4 {
		t.Fatalf("queue holds %d entries", len(c.queue))
	}
}

func TestLimiterSet(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	tests := []struct {
		name  string
		r     rate.Limit
		burst int
		max   int
		calls []struct {
			key string
			at  time.Duration
		}
		want []bool
	}{
		{"burst then refused", 1, 2, 10, []struct {
			key string
			at  time.Duration
		}{{"a", 0}, {"a", 0}, {"a", 0}, {"b", 0}, {"a", time.Second}}, []bool{true, true, false, true, true}},
		{"unlimited", rate.Inf, 1, 10, []struct {
			key string
			at  time.Duration
		}{{"a", 0}, {"a", 0}, {"a", 0}}, []bool{true, true, true}},
		{"bounded table", 1, 1, 2, []struct {
			key string
			at  time.Duration
		}{{"a", 0}, {"b", 0}, {"c", 0}, {"d", 0}}, []bool{true, true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newLimiterSet(tt.r, tt.burst, tt.max)
			for i, c := range tt.calls {
				if got := s.allow(c.key, t0.Add(c.at)); got != tt.want[i] {
					t.Fatalf("call %d (%s): %v, want %v", i, c.key, got, tt.want[i])
				}
			}
			if len(s.m) > tt.max {
				t.Fatalf("table holds %d keys, max %d", len(s.m), tt.max)
			}
		})
	}
}
