package broker

import (
	"context"
	"errors"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/thingo-iot/thingo/internal/devauth"
)

// conn is the broker's state of one accepted connection.
type conn struct {
	id       devauth.Identity
	perms    Permissions
	listener string
	remote   string
	level    byte
	alive    time.Duration
	will     string // topic of the ignored Will, if any

	limiter *rateLimiter

	mu             sync.Mutex
	sessionPresent bool
	reported       bool // Disconnected already sent (taken over)
}

// addConn registers an accepted connection; it reports false when the
// broker is stopping.
func (b *Broker) addConn(cl *mqtt.Client, c *conn) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.running {
		return false
	}
	b.conns[cl] = c
	return true
}

func (b *Broker) connOf(cl *mqtt.Client) *conn {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.conns[cl]
}

// establish decides SessionPresent the way mochi's inheritClientSession
// will, reports the connection it is about to take over and then this one,
// and purges the offline queue of a session that starts afresh.
func (b *Broker) establish(cl *mqtt.Client, pk packets.Packet) {
	c := b.connOf(cl)
	if c == nil {
		return
	}
	present := false
	if old, ok := b.srv.Clients.Get(cl.ID); ok {
		present = !pk.Connect.Clean && !(old.Properties.Clean && old.Properties.ProtocolVersion < 5)
		if oc := b.connOf(old); oc != nil && !old.Closed() {
			oc.mu.Lock()
			report := !oc.reported
			oc.reported = true
			oc.mu.Unlock()
			if report && b.deps.Observer != nil {
				b.deps.Observer.Disconnected(oc.id, time.Now(), "session taken over")
			}
		}
	}
	c.mu.Lock()
	c.sessionPresent = present
	c.mu.Unlock()
	if b.deps.Cluster != nil {
		b.mu.Lock()
		ctx := b.runCtx
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(ctx, b.opts.ConnectTimeout)
		b.takeoverRemote(ctx, cl, c, pk.Connect.Clean)
		cancel()
	}
	// Reported before CONNACK, so that a connection that takes this one
	// over is always reported after it.
	if b.deps.Observer != nil {
		b.deps.Observer.Connected(c.id, Connection{
			RemoteAddr:     c.remote,
			ProtocolLevel:  c.level,
			KeepAlive:      c.alive,
			SessionPresent: present,
			Listener:       c.listener,
		})
		if c.will != "" {
			b.deps.Observer.Dropped(c.id, c.will, DropWill)
		}
	}
	b.stopDrain(cl.ID)
	if !present && b.deps.Queue != nil {
		b.mu.Lock()
		ctx := b.runCtx
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(ctx, b.opts.ConnectTimeout)
		defer cancel()
		if err := b.deps.Queue.Purge(ctx, cl.ID); err != nil {
			b.log.Warn("purge offline queue", "client", cl.ID, "error", err)
		}
	}
}

// established starts delivering the offline queue of a resumed session.
func (b *Broker) established(cl *mqtt.Client) {
	c := b.connOf(cl)
	if c == nil {
		return
	}
	c.mu.Lock()
	present := c.sessionPresent
	c.mu.Unlock()
	if present && b.deps.Queue != nil && !cl.Properties.Clean {
		b.startDrain(cl)
	}
}

// disconnected forgets the connection and reports why it ended.
func (b *Broker) disconnected(cl *mqtt.Client, err error) {
	b.mu.Lock()
	c := b.conns[cl]
	delete(b.conns, cl)
	b.mu.Unlock()
	if c == nil {
		return
	}
	b.stopDrainOf(cl)
	if errors.Is(err, packets.ErrPacketTooLarge) {
		b.observeDropped(c.id, "", DropSize)
	}
	reason := "disconnect"
	if cause := cl.StopCause(); cause != nil {
		reason = cause.Error()
	} else if err != nil {
		reason = err.Error()
	}
	c.mu.Lock()
	report := !c.reported
	c.reported = true
	c.mu.Unlock()
	if report && b.deps.Observer != nil {
		b.deps.Observer.Disconnected(c.id, time.Now(), reason)
	}
}

// expired removes what mochi leaves behind of an expired session: its
// subscriptions in the topic index and its offline queue.
func (b *Broker) expired(cl *mqtt.Client) {
	b.srv.UnsubscribeClient(cl)
	cl.ClearInflights()
	b.log.Info("session expired", "client", cl.ID)
	b.mu.Lock()
	ctx, running := b.runCtx, b.running
	if running {
		b.wg.Add(1)
	}
	b.mu.Unlock()
	if !running {
		return
	}
	go func() {
		defer b.wg.Done()
		if b.deps.Cluster != nil {
			if err := b.deps.Cluster.KeepSession(ctx, cl.ID, false); err != nil {
				b.log.Warn("cluster: forget session node", "client", cl.ID, "error", err)
			}
		}
		if b.deps.Queue != nil {
			if err := b.deps.Queue.Purge(ctx, cl.ID); err != nil {
				b.log.Warn("purge offline queue", "client", cl.ID, "error", err)
			}
		}
	}()
}

func (b *Broker) observeDropped(id devauth.Identity, topic, reason string) {
	b.log.Debug("message dropped", "client", id.ClientID, "topic", topic, "reason", reason)
	if b.deps.Observer != nil {
		b.deps.Observer.Dropped(id, topic, reason)
	}
}

// Disconnect closes a device's connection (its persistent session, if any,
// stays). It returns ErrDeviceOffline when the device is not connected.
// In a cluster, a device connected to another node is disconnected there.
func (b *Broker) Disconnect(ctx context.Context, productID, deviceName string) error {
	clientID := productID + deviceName
	if _, online := b.localOnline(clientID); !online {
		if routed, err := b.routeDisconnect(ctx, RemoteCall{Op: OpDisconnect, ProductID: productID, DeviceName: deviceName}); routed {
			return err
		}
	}
	return b.disconnectLocal(clientID, "", nil, false)
}

// DisconnectWith writes a last QoS0 message on topic to the device, if it is
// connected and subscribed to topic, then closes its connection (on the node
// holding it, in a cluster). The write is synchronous, so the message is on
// the wire before the close (Deliver only queues it, and a close right after
// would discard it).
func (b *Broker) DisconnectWith(ctx context.Context, productID, deviceName, topic string, payload []byte) error {
	clientID := productID + deviceName
	if _, online := b.localOnline(clientID); !online {
		c := RemoteCall{Op: OpDisconnect, ProductID: productID, DeviceName: deviceName, Topic: topic, Payload: payload, Last: true}
		if routed, err := b.routeDisconnect(ctx, c); routed {
			return err
		}
	}
	return b.disconnectLocal(clientID, topic, payload, true)
}
