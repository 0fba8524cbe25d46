package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Operations of a RemoteCall.
const (
	OpDeliver    = "deliver"    // Deliver on the node holding the device
	OpDisconnect = "disconnect" // Disconnect (or DisconnectWith, when Last)
	OpTakeover   = "takeover"   // close the connection and drop the session
)

// RemoteCall is a request from one node's broker to another's, sent by a
// Cluster and answered by (*Broker).ServeRemote.
type RemoteCall struct {
	Op         string `json:"op"`
	ProductID  string `json:"pid"`
	DeviceName string `json:"dn"`
	ClientID   string `json:"clientId,omitempty"` // OpTakeover
	Topic      string `json:"topic,omitempty"`
	Payload    []byte `json:"payload,omitempty"`
	QoS        byte   `json:"qos,omitempty"`
	// Last: OpDisconnect writes Topic/Payload before closing (DisconnectWith).
	Last bool `json:"last,omitempty"`
}

// RemoteResult is the answer to a RemoteCall: the Delivery of OpDeliver, or
// the kind of error (see ErrorKind) and its text.
type RemoteResult struct {
	Delivery Delivery `json:"delivery,omitempty"`
	Error    string   `json:"error,omitempty"`
	Message  string   `json:"message,omitempty"`
}

// Error kinds carried by RemoteResult.Error.
const (
	KindOffline       = "offline"
	KindNotSubscribed = "not_subscribed"
	KindUndelivered   = "undelivered"
	KindInvalidQoS    = "invalid_qos"
	KindNotRunning    = "not_running"
	KindInternal      = "internal"
)

var kinds = []struct {
	kind string
	err  error
}{
	{KindOffline, ErrDeviceOffline},
	{KindNotSubscribed, ErrNotSubscribed},
	{KindUndelivered, ErrUndelivered},
	{KindInvalidQoS, ErrInvalidQoS},
	{KindNotRunning, ErrNotRunning},
}

// resultOf encodes a local outcome for the calling node.
func resultOf(d Delivery, err error) RemoteResult {
	if err == nil {
		return RemoteResult{Delivery: d}
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return RemoteResult{Error: k.kind, Message: err.Error()}
		}
	}
	return RemoteResult{Error: KindInternal, Message: err.Error()}
}

// Err maps the answer back to the broker's sentinel errors (nil on success).
func (r RemoteResult) Err() error {
	if r.Error == "" {
		return nil
	}
	for _, k := range kinds {
		if r.Error == k.kind {
			return k.err
		}
	}
	return fmt.Errorf("broker: remote node: %s", r.Message)
}

// Cluster reaches the other nodes sharing the bus. Without one (a single
// node) the broker only knows its own connections.
type Cluster interface {
	// Self is this node's id.
	Self() string
	// Locate returns the node holding device pid/dn's connection ("" when
	// none) and the node keeping its persistent session ("" when none).
	Locate(ctx context.Context, productID, deviceName string) (online, session string, err error)
	// Call sends c to node and returns its answer. An unreachable node
	// answers KindOffline.
	Call(ctx context.Context, node string, c RemoteCall) (RemoteResult, error)
	// KeepSession records that this node now keeps clientID's persistent
	// session (keep) or that it dropped it (!keep).
	KeepSession(ctx context.Context, clientID string, keep bool) error
}

// errTakenOverRemote is the stop cause of a connection taken over by a
// connection to another node.
var errTakenOverRemote = errors.New("session taken over on another node")

// remoteNode tells whether a message for pid/dn, not connected here, must
// go to another node, and which. clientID's session kept here keeps the
// message here (queued).
func (b *Broker) remoteNode(ctx context.Context, productID, deviceName, clientID string) (string, error) {
	online, session, err := b.deps.Cluster.Locate(ctx, productID, deviceName)
	if err != nil {
		return "", err
	}
	self := b.deps.Cluster.Self()
	if online != "" {
		if online == self {
			return "", nil
		}
		return online, nil
	}
	if _, ok := b.srv.Clients.Get(clientID); ok {
		return "", nil
	}
	if session != "" && session != self {
		return session, nil
	}
	return "", nil
}

// localOnline reports whether clientID is connected to this node.
func (b *Broker) localOnline(clientID string) (*mqtt.Client, bool) {
	cl, ok := b.srv.Clients.Get(clientID)
	if !ok || cl.Closed() {
		return cl, false
	}
	return cl, b.connOf(cl) != nil
}

// callRemote runs c on node and maps the answer to the broker's errors.
func (b *Broker) callRemote(ctx context.Context, node string, c RemoteCall) (Delivery, error) {
	res, err := b.deps.Cluster.Call(ctx, node, c)
	if err != nil {
		return 0, fmt.Errorf("broker: %s %s%s on node %s: %w", c.Op, c.ProductID, c.DeviceName, node, err)
	}
	return res.Delivery, res.Err()
}

// routeDisconnect sends a Disconnect for a device not connected here to the
// node that holds it; routed is false when no other node does.
func (b *Broker) routeDisconnect(ctx context.Context, c RemoteCall) (routed bool, err error) {
	if b.deps.Cluster == nil {
		return false, nil
	}
	online, _, err := b.deps.Cluster.Locate(ctx, c.ProductID, c.DeviceName)
	if err != nil {
		b.log.Warn("cluster: locate device", "product", c.ProductID, "device", c.DeviceName, "error", err)
		return false, nil
	}
	if online == "" || online == b.deps.Cluster.Self() {
		return false, nil
	}
	_, err = b.callRemote(ctx, online, c)
	return true, err
}

// ServeRemote answers a RemoteCall from another node, on this node's
// connections and sessions only (it never routes further).
func (b *Broker) ServeRemote(ctx context.Context, c RemoteCall) RemoteResult {
	switch c.Op {
	case OpDeliver:
		d, err := b.deliverLocal(ctx, c.ProductID, c.DeviceName, c.Topic, c.Payload, c.QoS)
		if b.deps.Tap != nil {
			b.deps.Tap.Downlink(c.ProductID, c.DeviceName, c.Topic, c.Payload, d, err)
		}
		return resultOf(d, err)
	case OpDisconnect:
		if c.Last {
			return resultOf(0, b.disconnectLocal(c.ProductID+c.DeviceName, c.Topic, c.Payload, true))
		}
		return resultOf(0, b.disconnectLocal(c.ProductID+c.DeviceName, "", nil, false))
	case OpTakeover:
		return resultOf(0, b.dropSession(ctx, c.ClientID))
	}
	return RemoteResult{Error: KindInternal, Message: fmt.Sprintf("unknown operation %q", c.Op)}
}

// dropSession closes clientID's connection on this node, waits until the
// broker has handled its end (reported to the Observer), and forgets its
// session: the device now lives on another node.
func (b *Broker) dropSession(ctx context.Context, clientID string) error {
	cl, ok := b.srv.Clients.Get(clientID)
	if !ok {
		return nil
	}
	if !cl.Closed() {
		cl.Stop(errTakenOverRemote)
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for b.connOf(cl) != nil {
		select {
		case <-ctx.Done():
			return fmt.Errorf("broker: takeover of %s: %w", clientID, ctx.Err())
		case <-tick.C:
		}
	}
	b.stopDrainOf(cl)
	if cur, ok := b.srv.Clients.Get(clientID); ok && cur == cl {
		cl.ClearInflights()
		b.srv.UnsubscribeClient(cl)
		b.srv.Clients.Delete(clientID)
	}
	if b.deps.Cluster != nil {
		if err := b.deps.Cluster.KeepSession(ctx, clientID, false); err != nil {
			b.log.Warn("cluster: forget session node", "client", clientID, "error", err)
		}
	}
	b.log.Info("session moved to another node", "client", clientID)
	return nil
}

// takeoverRemote runs at CONNECT in a cluster, before the connection is
// reported: the nodes holding the device's previous connection or session
// close and drop them, then this node records the session it keeps. The
// old node answers once its offline report is applied, so this
// connection's online report comes after it and wins.
func (b *Broker) takeoverRemote(ctx context.Context, cl *mqtt.Client, c *conn, clean bool) {
	cluster := b.deps.Cluster
	online, session, err := cluster.Locate(ctx, c.id.ProductID, c.id.DeviceName)
	if err != nil {
		b.log.Warn("cluster: locate device", "client", cl.ID, "error", err)
	}
	nodes := []string{online}
	if session != online {
		nodes = append(nodes, session)
	}
	for _, node := range nodes {
		if node == "" || node == cluster.Self() {
			continue
		}
		if _, err := b.callRemote(ctx, node, RemoteCall{
			Op: OpTakeover, ProductID: c.id.ProductID, DeviceName: c.id.DeviceName, ClientID: cl.ID,
		}); err != nil && !errors.Is(err, ErrDeviceOffline) {
			b.log.Warn("cluster: takeover", "client", cl.ID, "node", node, "error", err)
		}
	}
	if err := cluster.KeepSession(ctx, cl.ID, !clean); err != nil {
		b.log.Warn("cluster: record session node", "client", cl.ID, "error", err)
	}
}

// disconnectLocal closes clientID's connection on this node; with last, it
// first writes a QoS0 message on topic if the device subscribed to it.
func (b *Broker) disconnectLocal(clientID, topic string, payload []byte, last bool) error {
	cl, ok := b.srv.Clients.Get(clientID)
	if !ok || cl.Closed() {
		return ErrDeviceOffline
	}
	if last {
		if isSubscribed(b.srv, cl, topic) {
			pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: topic, Payload: payload}
			if err := cl.WritePacket(pk); err != nil {
				b.log.Debug("last message not written", "client", clientID, "topic", topic, "error", err)
			}
		}
	}
	cl.Stop(errDisconnected)
	return nil
}
