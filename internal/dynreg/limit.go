package dynreg

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

// limiterSet is a bounded table of token buckets, one per key (client IP or
// product id).
type limiterSet struct {
	mu    sync.Mutex
	r     rate.Limit
	burst int
	max   int
	m     map[string]*limiterEntry
}

func newLimiterSet(r rate.Limit, burst, max int) *limiterSet {
	return &limiterSet{r: r, burst: burst, max: max, m: make(map[string]*limiterEntry)}
}

// allow takes a token from key's bucket at now.
func (s *limiterSet) allow(key string, now time.Time) bool {
	if s.r == rate.Inf {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok {
		if len(s.m) >= s.max {
			s.evict(now)
		}
		e = &limiterEntry{lim: rate.NewLimiter(s.r, s.burst)}
		s.m[key] = e
	}
	e.seen = now
	return e.lim.AllowN(now, 1)
}

// evict drops the buckets that have refilled since their last use (they
// are equivalent to new ones); if none has, it drops one arbitrary bucket,
// which at worst grants that key a fresh burst.
func (s *limiterSet) evict(now time.Time) {
	full := time.Duration(float64(s.burst) / float64(s.r) * float64(time.Second))
	for k, e := range s.m {
		if now.Sub(e.seen) >= full {
			delete(s.m, k)
		}
	}
	if len(s.m) < s.max {
		return
	}
	for k := range s.m {
		delete(s.m, k)
		return
	}
}
