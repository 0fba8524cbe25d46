package dynreg

import (
	"errors"
	"sync"
	"time"
)

// errReplayCacheFull: the replay cache holds its maximum of live nonces.
var errReplayCacheFull = errors.New("replay cache full")

type replayEntry struct {
	key     string
	expires time.Time
}

// replayCache remembers nonces for ttl, holding at most max of them. It is
// per process (see the package doc). Entries expire in insertion order, so a
// FIFO queue finds the expired ones.
type replayCache struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	seen  map[string]time.Time
	queue []replayEntry
	head  int
}

func newReplayCache(ttl time.Duration, max int) *replayCache {
	return &replayCache{ttl: ttl, max: max, seen: make(map[string]time.Time)}
}

// add records key at now. fresh is false when key is already recorded and
// not expired. It fails when the cache is full of live entries.
func (c *replayCache) add(key string, now time.Time) (fresh bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if exp, ok := c.seen[key]; ok && now.Before(exp) {
		return false, nil
	}
	if len(c.seen) >= c.max {
		return false, errReplayCacheFull
	}
	exp := now.Add(c.ttl)
	c.seen[key] = exp
	c.queue = append(c.queue, replayEntry{key: key, expires: exp})
	return true, nil
}

// expire drops the entries expired at now.
func (c *replayCache) expire(now time.Time) {
	for c.head < len(c.queue) && !now.Before(c.queue[c.head].expires) {
		e := c.queue[c.head]
		if exp, ok := c.seen[e.key]; ok && exp.Equal(e.expires) {
			delete(c.seen, e.key)
		}
		c.queue[c.head] = replayEntry{}
		c.head++
	}
	if c.head > 0 && c.head >= len(c.queue)/2 {
		n := copy(c.queue, c.queue[c.head:])
		clear(c.queue[n:])
		c.queue = c.queue[:n]
		c.head = 0
	}
}

// len returns the number of remembered nonces.
func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
