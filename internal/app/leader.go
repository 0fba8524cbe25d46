package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/thingo-iot/thingo/internal/bus"
)

// Leadership of the OTA engine in a cluster.
const (
	// otaLease names the lease of the node running the OTA engine.
	otaLease = "ota-engine"
	// otaLeaseTTL is how long the OTA engine stays without a leader after
	// its node crashed (a graceful stop hands over at once).
	otaLeaseTTL = 10 * time.Second
	// resignTimeout bounds the release of a lease at the end.
	resignTimeout = 5 * time.Second
)

// lead runs work while this node holds the lease called name, until ctx
// ends: it campaigns, runs work with a context cancelled when the lease is
// lost, and campaigns again. Exactly one node of the cluster runs work at
// a time (bar the moment a node that lost its lease takes to notice).
func (c *cluster) lead(ctx context.Context, name string, ttl time.Duration, work func(context.Context)) {
	leadWith(ctx, c.bus, c.self, name, ttl, work, c.log)
}

// leadWith is lead for node self on bus b.
func leadWith(ctx context.Context, b *bus.Bus, self, name string, ttl time.Duration, work func(context.Context), log *slog.Logger) {
	for ctx.Err() == nil {
		lease, err := b.Campaign(ctx, name, self, ttl)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("campaign failed", "lease", name, "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(ttl / 4):
				}
			}
			continue
		}
		log.Info("leading", "lease", name)
		wctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-lease.Done():
				cancel()
			case <-wctx.Done():
			}
		}()
		work(wctx)
		cancel()
		if err := lease.Err(); err != nil {
			log.Warn("lease lost", "lease", name, "err", err)
		}
		rctx, rcancel := context.WithTimeout(context.Background(), resignTimeout)
		if err := lease.Resign(rctx); err != nil {
			log.Warn("resign lease", "lease", name, "err", err)
		}
		rcancel()
		log.Info("no longer leading", "lease", name)
	}
}
