package broker

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Delivery is the outcome of a successful Deliver.
type Delivery int

const (
	// Delivered: handed to the device's connection (QoS1: held by the
	// session until the device acknowledges it).
	Delivered Delivery = iota + 1
	// Queued: stored in the offline queue, delivered when the device
	// resumes its session.
	Queued
)

func (d Delivery) String() string {
	switch d {
	case Delivered:
		return "delivered"
	case Queued:
		return "queued"
	}
	return fmt.Sprintf("Delivery(%d)", int(d))
}

// delivery tracks one injected downlink while mochi routes it.
type delivery struct {
	clientID string
	dropped  bool
}

// drain delivers a resumed session's offline queue.
type drain struct {
	cl     *mqtt.Client
	cancel context.CancelFunc
	mu     sync.Mutex // held while deciding to end; Deliver enqueues under it
	active bool
}

// Deliver sends a platform message to a device on topic. An online device
// subscribed to topic gets it now (Delivered). A QoS1 message for a device
// that is offline with a persistent session and a matching subscription, or
// whose session is still receiving its offline queue, is queued (Queued).
// Otherwise: ErrDeviceOffline, ErrNotSubscribed, or ErrUndelivered when the
// device's connection could not take it and it could not be queued.
// A sub-device online through a gateway (Deps.Proxies) is reached through
// the gateway's connection and subscriptions.
func (b *Broker) Deliver(ctx context.Context, productID, deviceName, topic string, payload []byte, qos byte) (Delivery, error) {
	d, err := b.deliver(ctx, productID, deviceName, topic, payload, qos)
	if b.deps.Tap != nil {
		b.deps.Tap.Downlink(productID, deviceName, topic, payload, d, err)
	}
	return d, err
}

// deliver delivers locally when the device is connected here; otherwise,
// in a cluster, on the node that holds its connection or keeps its session.
func (b *Broker) deliver(ctx context.Context, productID, deviceName, topic string, payload []byte, qos byte) (Delivery, error) {
	if b.deps.Cluster == nil {
		return b.deliverLocal(ctx, productID, deviceName, topic, payload, qos)
	}
	clientID, proxied := b.clientOf(productID, deviceName)
	if _, online := b.localOnline(clientID); online || proxied || qos > 1 {
		return b.deliverLocal(ctx, productID, deviceName, topic, payload, qos)
	}
	node, err := b.remoteNode(ctx, productID, deviceName, clientID)
	if err != nil {
		b.log.Warn("cluster: locate device", "product", productID, "device", deviceName, "error", err)
	}
	if node == "" {
		return b.deliverLocal(ctx, productID, deviceName, topic, payload, qos)
	}
	return b.callRemote(ctx, node, RemoteCall{
		Op: OpDeliver, ProductID: productID, DeviceName: deviceName, Topic: topic, Payload: payload, QoS: qos,
	})
}

// clientOf is the client id a message for pid/dn goes to: the device's, or
// its gateway's when it is a sub-device online through a gateway here.
func (b *Broker) clientOf(productID, deviceName string) (clientID string, proxied bool) {
	if b.deps.Proxies != nil {
		if gwPID, gwDN, ok := b.deps.Proxies.Via(productID, deviceName); ok {
			return gwPID + gwDN, true // a sub-device: through its gateway
		}
	}
	return productID + deviceName, false
}

// deliverLocal is Deliver on this node's connections and sessions.
func (b *Broker) deliverLocal(ctx context.Context, productID, deviceName, topic string, payload []byte, qos byte) (Delivery, error) {
	if qos > 1 {
		return 0, ErrInvalidQoS
	}
	b.mu.Lock()
	running := b.running
	b.mu.Unlock()
	if !running {
		return 0, ErrNotRunning
	}
	clientID, _ := b.clientOf(productID, deviceName)
	cl, ok := b.srv.Clients.Get(clientID)
	if !ok {
		return 0, ErrDeviceOffline
	}
	subscribed := isSubscribed(b.srv, cl, topic)
	queueable := qos == 1 && !cl.Properties.Clean && b.deps.Queue != nil
	online := !cl.Closed() && b.connOf(cl) != nil
	if !online {
		if !queueable || !subscribed {
			return 0, ErrDeviceOffline
		}
		return b.enqueue(ctx, clientID, topic, payload, qos)
	}
	if !subscribed {
		return 0, ErrNotSubscribed
	}
	if queueable {
		if d, queued, err := b.enqueueIfDraining(ctx, clientID, topic, payload, qos); queued {
			return d, err
		}
	}
	if qos == 1 && cl.State.Inflight.Len() >= b.opts.MaxInflight {
		if queueable {
			return b.enqueue(ctx, clientID, topic, payload, qos)
		}
		return 0, ErrUndelivered
	}
	if !b.inject(clientID, topic, payload, qos) {
		return Delivered, nil
	}
	if queueable {
		return b.enqueue(ctx, clientID, topic, payload, qos)
	}
	return 0, ErrUndelivered
}

func (b *Broker) enqueue(ctx context.Context, clientID, topic string, payload []byte, qos byte) (Delivery, error) {
	if err := b.deps.Queue.Enqueue(ctx, clientID, topic, payload, qos); err != nil {
		return 0, fmt.Errorf("broker: enqueue for %s: %w", clientID, err)
	}
	return Queued, nil
}

// enqueueIfDraining queues the message behind the offline queue being
// delivered, to keep the order.
func (b *Broker) enqueueIfDraining(ctx context.Context, clientID, topic string, payload []byte, qos byte) (Delivery, bool, error) {
	b.mu.Lock()
	d := b.draining[clientID]
	b.mu.Unlock()
	if d == nil {
		return 0, false, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.active {
		return 0, false, nil
	}
	res, err := b.enqueue(ctx, clientID, topic, payload, qos)
	return res, true, err
}

// inject publishes through mochi's routing as the platform and reports
// whether mochi dropped it for clientID (outbound buffer full). mochi calls
// OnPublishDropped synchronously, on this goroutine, with the packet
// injected here; the token in CorrelationData (never encoded for MQTT 3
// clients) identifies it.
func (b *Broker) inject(clientID, topic string, payload []byte, qos byte) (dropped bool) {
	d := &delivery{clientID: clientID}
	b.mu.Lock()
	b.nextTok++
	tok := b.nextTok
	b.pending[tok] = d
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.pending, tok)
		b.mu.Unlock()
	}()

	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos},
		TopicName:   topic,
		Payload:     payload,
		Properties:  packets.Properties{CorrelationData: binary.BigEndian.AppendUint64(nil, tok)},
	}
	if qos > 0 {
		pk.PacketID = 1 // mochi validates it; the real id is per receiver
	}
	if err := b.srv.InjectPacket(b.inline, pk); err != nil {
		b.log.Warn("inject downlink", "client", clientID, "topic", topic, "error", err)
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return d.dropped
}

// markDropped records that mochi dropped an injected downlink for
// clientID; it reports whether pk was one.
func (b *Broker) markDropped(clientID string, pk packets.Packet) bool {
	if len(pk.Properties.CorrelationData) != 8 || pk.Origin != b.inline.ID {
		return false
	}
	tok := binary.BigEndian.Uint64(pk.Properties.CorrelationData)
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.pending[tok]
	if !ok {
		return false
	}
	if d.clientID == clientID {
		d.dropped = true
	}
	return true
}

// startDrain delivers the offline queue of a resumed session, one message
// per Options.OfflinePacing, in order.
func (b *Broker) startDrain(cl *mqtt.Client) {
	b.mu.Lock()
	if !b.running {
		b.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(b.runCtx)
	d := &drain{cl: cl, cancel: cancel, active: true}
	if old := b.draining[cl.ID]; old != nil {
		old.cancel()
	}
	b.draining[cl.ID] = d
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		defer cancel()
		b.runDrain(ctx, d)
	}()
}

// stopDrain stops the drain of clientID's session, if any.
func (b *Broker) stopDrain(clientID string) {
	b.mu.Lock()
	d := b.draining[clientID]
	delete(b.draining, clientID)
	b.mu.Unlock()
	if d != nil {
		d.cancel()
	}
}

// stopDrainOf stops the drain of a connection that ended.
func (b *Broker) stopDrainOf(cl *mqtt.Client) {
	b.mu.Lock()
	d := b.draining[cl.ID]
	if d != nil && d.cl == cl {
		delete(b.draining, cl.ID)
	} else {
		d = nil
	}
	b.mu.Unlock()
	if d != nil {
		d.cancel()
	}
}

func (b *Broker) runDrain(ctx context.Context, d *drain) {
	clientID := d.cl.ID
	defer func() {
		d.mu.Lock()
		d.active = false
		d.mu.Unlock()
		b.mu.Lock()
		if b.draining[clientID] == d {
			delete(b.draining, clientID)
		}
		b.mu.Unlock()
	}()
	t := time.NewTimer(0)
	defer t.Stop()
	var (
		after     uint64
		undeleted uint64 // a message handed to the device whose delete failed
		failures  int    // consecutive queue errors
	)
	// retry waits longer after each consecutive queue error (a JetStream
	// timeout under a reconnect storm) and tries again: giving up would leave
	// the rest of the queue stuck until the device's next reconnect.
	retry := func(what string, err error) {
		failures++
		if ctx.Err() == nil {
			b.log.Warn(what, "client", clientID, "error", err, "attempt", failures)
		}
		t.Reset(drainBackoff(b.opts.OfflinePacing, failures))
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if d.cl.Closed() {
			return
		}
		if undeleted != 0 {
			if err := b.deps.Queue.DeleteThrough(ctx, clientID, undeleted); err != nil {
				retry("offline queue delete", err)
				continue
			}
			after, undeleted = undeleted, 0
		}
		seq, topic, payload, qos, ok, err := b.deps.Queue.Next(ctx, clientID, after)
		if err != nil {
			retry("offline queue read", err)
			continue
		}
		if !ok {
			done, err := b.finishDrain(ctx, d)
			if err != nil {
				retry("offline queue length", err)
				continue
			}
			if done {
				return
			}
			failures = 0
			after = 0 // messages arrived meanwhile; read from the start
			t.Reset(b.opts.OfflinePacing)
			continue
		}
		failures = 0
		if !isSubscribed(b.srv, d.cl, topic) {
			b.log.Info("offline message dropped, no subscription", "client", clientID, "topic", topic)
		} else if b.inject(clientID, topic, payload, qos) {
			t.Reset(b.opts.OfflinePacing) // buffer full: retry the same message
			continue
		}
		if err := b.deps.Queue.DeleteThrough(ctx, clientID, seq); err != nil {
			undeleted = seq // delivered: only the delete is retried, never the message
			retry("offline queue delete", err)
			continue
		}
		after = seq
		t.Reset(b.opts.OfflinePacing)
	}
}

// drainBackoff is the wait after the n-th consecutive queue error: pacing
// doubled per error, at most maxDrainBackoff.
func drainBackoff(pacing time.Duration, n int) time.Duration {
	d := pacing
	for i := 1; i < n && d < maxDrainBackoff; i++ {
		d *= 2
	}
	return min(max(d, 10*time.Millisecond), maxDrainBackoff)
}

// maxDrainBackoff caps the wait between retries of a failing offline queue.
const maxDrainBackoff = 5 * time.Second

// finishDrain ends the drain unless a message was queued meanwhile. When
// the queue cannot be read, the drain goes on (err) so nothing is stranded.
func (b *Broker) finishDrain(ctx context.Context, d *drain) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := b.deps.Queue.Len(ctx, d.cl.ID)
	if err != nil {
		return false, err
	}
	if n == 0 {
		d.active = false
		return true, nil
	}
	return false, nil
}

// isSubscribed reports whether cl has a subscription matching topic. A
// device subscribes to its downlink topics exactly, so its own
// subscriptions are looked up first; only a wildcard filter needs the walk
// of the topic index (which builds the topic's whole subscriber set).
func isSubscribed(srv *mqtt.Server, cl *mqtt.Client, topic string) bool {
	if _, ok := cl.State.Subscriptions.Get(topic); ok {
		return true
	}
	_, ok := srv.Topics.Subscribers(topic).Subscriptions[cl.ID]
	return ok
}
