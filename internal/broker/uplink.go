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
	case b.uplinkQueue(c.id.ClientID) <- u:
		return true
	default:
		b.observeDropped(c.id, pk.TopicName, DropOverload)
		return false
	}
}

// newUplinkQueues makes one queue per worker, sharing capacity among them.
func newUplinkQueues(workers, capacity int) []chan uplink {
	workers = max(workers, 1)
	qs := make([]chan uplink, workers)
	for i := range qs {
		qs[i] = make(chan uplink, max(capacity/workers, 1))
	}
	return qs
}

// uplinkQueue is the queue of a client id: always the same one, so that one
// device's messages are handled in the order they arrived (a progress report
// of 40% must not be overtaken by the 0% sent before it).
func (b *Broker) uplinkQueue(clientID string) chan uplink {
	h := uint32(2166136261) // FNV-1a, inline: no allocation per message
	for i := 0; i < len(clientID); i++ {
		h = (h ^ uint32(clientID[i])) * 16777619
	}
	return b.uplinks[h%uint32(len(b.uplinks))]
}

// uplinkWorker calls the Handler for the uplinks of queue q until stop is
// closed, then for those still queued, and returns.
func (b *Broker) uplinkWorker(ctx context.Context, q chan uplink, stop <-chan struct{}) {
	for {
		select {
		case u := <-q:
			b.deps.Handler.HandleUplink(ctx, u.id, u.topic, u.payload)
		case <-stop:
			for {
				select {
				case u := <-q:
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
