package devicehttp

import (
	"errors"
	"sync"
	"time"
)

var errNonceCacheFull = errors.New("nonce cache full")

// nonceCache remembers nonces for ttl; when it holds max live entries it
// refuses new ones rather than forgetting one that may be replayed.
type nonceCache struct {
	mu   sync.Mutex
	ttl  time.Duration
	max  int
	seen map[string]time.Time // key -> expiry
}

func newNonceCache(ttl time.Duration, maxEntries int) *nonceCache {
	return &nonceCache{ttl: ttl, max: maxEntries, seen: map[string]time.Time{}}
}

// add records key at now and reports whether it was new.
func (c *nonceCache) add(key string, now time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[key]; ok && now.Before(exp) {
		return false, nil
	}
	if len(c.seen) >= c.max {
		for k, exp := range c.seen {
			if !now.Before(exp) {
				delete(c.seen, k)
			}
		}
		if len(c.seen) >= c.max {
			return false, errNonceCacheFull
		}
	}
	c.seen[key] = now.Add(c.ttl)
	return true, nil
}
