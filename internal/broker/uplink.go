package broker

import (
	"context"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/protocol"
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
	if !c.limiter.allow(time.Now(), b.uplinkRate(c)) {
		b.observeDropped(c.id, pk.TopicName, DropRate)
		return false
	}
	if b.deps.Handler == nil {
		return true
	}
	u := uplink{id: c.id, topic: pk.TopicName, payload: append([]byte(nil), pk.Payload...)}
	select {
	case b.uplinkQueue(queueKey(c.id, pk.TopicName)) <- u:
		return true
	default:
		b.observeDropped(c.id, pk.TopicName, DropOverload)
		return false
	}
}

// queueKey picks the ordering key of an uplink: the device it speaks for. A
// gateway speaks for its sub-devices on their topics, so each sub-device
// keeps its own order and a gateway's traffic spreads over the workers
// instead of filling one queue.
func queueKey(id devauth.Identity, topic string) string {
	if id.Gateway {
		if t, err := protocol.ParseTopic(topic); err == nil && t.ProductID != "" {
			return t.ProductID + t.DeviceName
		}
	}
	return id.ClientID
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
			b.handle(ctx, u)
		case <-stop:
			for {
				select {
				case u := <-q:
					b.handle(ctx, u)
				default:
					return
				}
			}
		}
	}
}

func (b *Broker) handle(ctx context.Context, u uplink) {
	if b.deps.Tap != nil {
		b.deps.Tap.Uplink(u.id, u.topic, u.payload)
	}
	b.deps.Handler.HandleUplink(ctx, u.id, u.topic, u.payload)
}

// GatewayRateFactorMax caps the uplink allowance of a gateway connection:
// a gateway with n sub-devices online through it may send
// Options.UplinkRate x (1+n) PUBLISH per second, at most
// Options.UplinkRate x GatewayRateFactorMax.
const GatewayRateFactorMax = 100

// uplinkRate is the PUBLISH per second connection c may send: the device
// rate, or for a gateway the device rate times 1 + its online sub-devices
// (capped), so that its sub-devices do not share one device's allowance.
func (b *Broker) uplinkRate(c *conn) float64 {
	rate := float64(b.opts.UplinkRate)
	if !c.id.Gateway || b.deps.Proxies == nil {
		return rate
	}
	n := b.deps.Proxies.OnlineSubDevices(c.id.ProductID, c.id.DeviceName)
	return rate * float64(min(max(n, 0)+1, GatewayRateFactorMax))
}

// rateLimiter is a token bucket refilled at the rate given to each allow
// call, with a burst of that rate (one second's worth).
type rateLimiter struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newRateLimiter(perSecond int, now time.Time) *rateLimiter {
	return &rateLimiter{tokens: float64(perSecond), last: now}
}

// allow takes a token if there is one, after refilling at rate tokens per
// second since the last call.
func (r *rateLimiter) allow(now time.Time, rate float64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if elapsed := now.Sub(r.last); elapsed > 0 {
		r.tokens = min(rate, r.tokens+elapsed.Seconds()*rate)
		r.last = now
	}
	if r.tokens < 1 {
		return false
	}
	r.tokens--
	return true
}
