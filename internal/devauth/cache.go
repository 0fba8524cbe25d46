package devauth

import (
	"context"
	"sync"
	"time"
)

// Defaults of a Cache.
const (
	DefaultCacheTTL     = 5 * time.Second
	DefaultCacheEntries = 100_000
)

// CacheConfig configures a Cache.
type CacheConfig struct {
	// TTL bounds how long a looked-up device is served without asking the
	// source again, and so how long a change made elsewhere (another node
	// of a cluster sharing the database) can go unnoticed. Changes made
	// through this process call Invalidate or InvalidateProduct and take
	// effect at once. Zero: DefaultCacheTTL.
	TTL time.Duration
	// MaxEntries bounds the cache; when full, an arbitrary entry is evicted
	// per insertion. Zero: DefaultCacheEntries.
	MaxEntries int
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Cache is a DeviceSource that remembers successful lookups of another
// DeviceSource for a short time, so that a storm of CONNECTs does not
// query the database twice per connection. Failed lookups (unknown
// devices included) are not remembered. It is safe for concurrent use.
type Cache struct {
	source DeviceSource
	ttl    time.Duration
	max    int
	now    func() time.Time

	mu      sync.Mutex
	entries map[cacheKey]cacheEntry
	// gen counts invalidations; a lookup that started before one must not
	// store what it read, which may predate the change.
	gen uint64
}

type cacheKey struct{ productID, deviceName string }

type cacheEntry struct {
	dev     DeviceAuth
	expires time.Time
}

var _ DeviceSource = (*Cache)(nil)

// NewCache returns a Cache in front of source.
func NewCache(source DeviceSource, cfg CacheConfig) *Cache {
	c := &Cache{source: source, ttl: cfg.TTL, max: cfg.MaxEntries, now: cfg.Now, entries: make(map[cacheKey]cacheEntry)}
	if c.ttl <= 0 {
		c.ttl = DefaultCacheTTL
	}
	if c.max <= 0 {
		c.max = DefaultCacheEntries
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// DeviceAuth implements DeviceSource.
func (c *Cache) DeviceAuth(ctx context.Context, productID, deviceName string) (DeviceAuth, error) {
	k := cacheKey{productID, deviceName}
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[k]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.dev, nil
	}
	dev, err := c.lookup(ctx, productID, deviceName)
	if err != nil {
		return DeviceAuth{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return dev, nil // changed meanwhile: serve this once, keep nothing
	}
	if _, present := c.entries[k]; !present && len(c.entries) >= c.max {
		c.evictLocked(now)
	}
	c.entries[k] = cacheEntry{dev: dev, expires: now.Add(c.ttl)}
	return dev, nil
}

// lookupResult is the outcome of a source lookup.
type lookupResult struct {
	dev DeviceAuth
	err error
}

// lookup asks the source on a goroutine of its own. The caller is the
// connection's goroutine, which then lives as long as the connection: a
// database driver's deep call stack (SQLite's runs to tens of KiB) would
// grow that goroutine's stack for good, as idle goroutines are rarely
// shrunk; a short-lived goroutine returns its stack at once.
func (c *Cache) lookup(ctx context.Context, productID, deviceName string) (DeviceAuth, error) {
	ch := make(chan lookupResult, 1)
	go func() {
		dev, err := c.source.DeviceAuth(ctx, productID, deviceName)
		ch <- lookupResult{dev, err}
	}()
	r := <-ch
	return r.dev, r.err
}

// evictLocked removes the expired entries it meets and at least one entry.
func (c *Cache) evictLocked(now time.Time) {
	removed, seen := 0, 0
	for k, e := range c.entries {
		if removed == 0 || !now.Before(e.expires) {
			delete(c.entries, k)
			removed++
		}
		if seen++; seen >= 64 {
			return
		}
	}
}

// Invalidate forgets a device: the next lookup asks the source.
func (c *Cache) Invalidate(productID, deviceName string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.entries, cacheKey{productID, deviceName})
}

// InvalidateProduct forgets every device of a product (its type, encryption
// type or topic policies changed).
func (c *Cache) InvalidateProduct(productID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k := range c.entries {
		if k.productID == productID {
			delete(c.entries, k)
		}
	}
}

// Len returns how many devices are cached (expired ones included).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
