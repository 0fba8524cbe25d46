package broker

import (
	"context"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/thingo-iot/thingo/internal/devauth"
)

// uplink is an accepted device message waiting for the Handler.
type uplink struct {
	id      devauth.Identity
	topic   string
	payload []byte
}

// admitUplink applies the ACL and the rate limit to a device's PUBLISH and
// hands an accepted one to the uplink queue without blocking. It reports
// whether the message was accepted; refusals are reported to the Observer.
func (b *Broker) admitUplink(c *conn, pk packets.Packet) bool {
	if !c.perms.CanPublish(pk.TopicName) {
		b.observeDropped(c.id, pk.TopicName, DropACL)
		return false
	}
	if !c.limiter.allow(time.Now()) {
		b.observeDropped(c.id, pk.TopicName, DropRate)
		return false
	}
	if b.deps.Handler == nil {
		return true
	}
	u := uplink{id: c.id, topic: pk.TopicName, payload: append([]byte(nil), pk.Payload...)}
	select {
	case b.uplinks <- u:
		return true
	default:
		b.observeDropped(c.id, pk.TopicName, DropOverload)
		return false
	}
}

// uplinkWorker calls the Handler for queued uplinks until stop is closed,
// then for those still queued, and returns.
func (b *Broker) uplinkWorker(ctx context.Context, stop <-chan struct{}) {
	for {
		select {
		case u := <-b.uplinks:
			b.deps.Handler.HandleUplink(ctx, u.id, u.topic, u.payload)
		case <-stop:
			for {
				select {
				case u := <-b.uplinks:
					b.deps.Handler.HandleUplink(ctx, u.id, u.topic, u.payload)
				default:
					return
				}
			}
		}
	}
}

// rateLimiter is a token bucket: rate tokens per second, burst of rate.
type rateLimiter struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
}

func newRateLimiter(perSecond int, now time.Time) *rateLimiter {
	return &rateLimiter{rate: float64(perSecond), tokens: float64(perSecond), last: now}
}

func (r *rateLimiter) allow(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if elapsed := now.Sub(r.last); elapsed > 0 {
		r.tokens = min(r.rate, r.tokens+elapsed.Seconds()*r.rate)
		r.last = now
	}
	if r.tokens < 1 {
		return false
	}
	r.tokens--
	return true
}
