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
	// DefaultLookupWorkers bounds the goroutines asking the source at once
	// (the SQLite store has four read connections on two cores).
	DefaultLookupWorkers = 8
	// lookupWorkerIdle is how long an idle lookup worker waits for more work
	// before it exits and frees its stack: long enough to carry a storm of
	// CONNECTs, short enough that an idle node keeps no extra goroutines.
	lookupWorkerIdle = 2 * time.Second
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
	// LookupWorkers bounds the source lookups in flight. Zero:
	// DefaultLookupWorkers.
	LookupWorkers int
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

	reqs       chan lookupReq // to an idle worker
	workers    int            // running lookup workers, under mu
	maxWorkers int
}

type cacheKey struct{ productID, deviceName string }

type cacheEntry struct {
	dev     DeviceAuth
	expires time.Time
}

var _ DeviceSource = (*Cache)(nil)

// NewCache returns a Cache in front of source.
func NewCache(source DeviceSource, cfg CacheConfig) *Cache {
	c := &Cache{source: source, ttl: cfg.TTL, max: cfg.MaxEntries, now: cfg.Now, entries: make(map[cacheKey]cacheEntry),
		reqs: make(chan lookupReq), maxWorkers: cfg.LookupWorkers}
	if c.maxWorkers <= 0 {
		c.maxWorkers = DefaultLookupWorkers
	}
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

// lookupReq is a lookup handed to a worker; the worker answers on res
// (buffered: the asker may have given up).
type lookupReq struct {
	ctx                   context.Context
	productID, deviceName string
	res                   chan lookupResult
}

// lookup asks the source on one of a few long-lived worker goroutines. The
// caller is the connection's goroutine, which then lives as long as the
// connection: a database driver's deep call stack (SQLite's runs to tens
// of KiB) would grow that goroutine's stack for good, as idle goroutines
// are rarely shrunk. A goroutine per lookup avoids that but grows a fresh
// stack every time (runtime.copystack was 16 % of the server's CPU in a
// connect storm); the workers keep theirs grown while lookups keep coming
// and exit after lookupWorkerIdle without one.
func (c *Cache) lookup(ctx context.Context, productID, deviceName string) (DeviceAuth, error) {
	req := lookupReq{ctx: ctx, productID: productID, deviceName: deviceName, res: make(chan lookupResult, 1)}
	if err := c.hand(ctx, req); err != nil {
		return DeviceAuth{}, err
	}
	select {
	case r := <-req.res:
		return r.dev, r.err
	case <-ctx.Done():
		return DeviceAuth{}, ctx.Err()
	}
}

// hand gives req to an idle worker, starts a worker for it when fewer than
// maxWorkers run, or waits for a worker to become idle.
func (c *Cache) hand(ctx context.Context, req lookupReq) error {
	retry := time.NewTimer(0)
	retry.Stop()
	defer retry.Stop()
	for {
		select {
		case c.reqs <- req:
			return nil
		default:
		}
		c.mu.Lock()
		if c.workers < c.maxWorkers {
			c.workers++
			c.mu.Unlock()
			go c.work(req)
			return nil
		}
		c.mu.Unlock()
		// Every worker is busy. Wait for one; look again now and then, as
		// the last workers may have exited idle in between.
		retry.Reset(100 * time.Millisecond)
		select {
		case c.reqs <- req:
			return nil
		case <-retry.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// work answers req and then further lookups until none comes for
// lookupWorkerIdle.
func (c *Cache) work(req lookupReq) {
	idle := time.NewTimer(lookupWorkerIdle)
	defer idle.Stop()
	for {
		dev, err := c.source.DeviceAuth(req.ctx, req.productID, req.deviceName)
		req.res <- lookupResult{dev, err}
		idle.Reset(lookupWorkerIdle)
		select {
		case req = <-c.reqs:
		case <-idle.C:
			c.mu.Lock()
			c.workers--
			c.mu.Unlock()
			return
		}
	}
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
