package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/thingo-iot/thingo/internal/broker"
	"github.com/thingo-iot/thingo/internal/bus"
	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/internal/gateway"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/protocol"
)

// gateways wires internal/gateway (PROTOCOL.md §8) into the broker: the
// $gateway/operation uplinks, the ACL of gateway connections, their
// presence, and sub-device traffic proxied on their connections.
type gateways struct {
	svc *gateway.Service
}

// newGateways builds the gateway service; in a cluster (c not nil) it
// publishes the sub-devices online through this node's gateways, for the
// other nodes' downlinks.
func newGateways(store registry.Store, reg *registry.Service, pub *brokerPublisher, c *cluster, log *slog.Logger) (*gateways, error) {
	gs, ok := store.(gateway.Store)
	if !ok {
		return nil, fmt.Errorf("store %T does not keep gateway bindings", store)
	}
	var dir gateway.Directory
	if c != nil {
		dir = subDeviceDirectory{nodes: c.subs, self: c.self}
	}
	svc, err := gateway.New(gateway.Config{Store: gs, Devices: reg, Publisher: pub, Directory: dir, Logger: log.With("component", "gateway")})
	if err != nil {
		return nil, err
	}
	return &gateways{svc: svc}, nil
}

// auth wraps the broker's Authenticator: a gateway connection's ACL also
// grants the topics of its online sub-devices.
func (g *gateways) auth(next broker.Authenticator) broker.Authenticator {
	return gatewayAuth{next: next, svc: g.svc}
}

// observer wraps the broker's Observer to track gateway connections.
func (g *gateways) observer(next broker.Observer) broker.Observer {
	return gatewayObserver{Observer: next, svc: g.svc}
}

// uplinks returns the broker's uplink handler: a gateway's own
// $gateway/operation requests go to the gateway service; a message a
// gateway publishes for a sub-device goes to next as the sub-device's.
func (g *gateways) uplinks(next broker.Handler) broker.Handler {
	return gatewayRouter{next: next, svc: g.svc}
}

type gatewayAuth struct {
	next broker.Authenticator
	svc  *gateway.Service
}

func (a gatewayAuth) Authenticate(ctx context.Context, r devauth.ConnectRequest) (devauth.Identity, error) {
	id, err := a.next.Authenticate(ctx, r)
	if err == nil && id.Gateway && id.ACL != nil {
		id.ACL.Extra = a.svc.Extra(id.ProductID, id.DeviceName)
	}
	return id, err
}

type gatewayObserver struct {
	broker.Observer
	svc *gateway.Service
}

func (o gatewayObserver) Connected(id devauth.Identity, c broker.Connection) {
	if id.Gateway {
		o.svc.GatewayConnected(id.ProductID, id.DeviceName)
	}
	o.Observer.Connected(id, c)
}

func (o gatewayObserver) Disconnected(id devauth.Identity, at time.Time, reason string) {
	o.Observer.Disconnected(id, at, reason)
	if id.Gateway {
		o.svc.GatewayDisconnected(id.ProductID, id.DeviceName, at)
	}
}

type gatewayRouter struct {
	next broker.Handler
	svc  *gateway.Service
}

func (r gatewayRouter) HandleUplink(ctx context.Context, id devauth.Identity, topic string, payload []byte) {
	t, err := protocol.ParseTopic(topic)
	if err != nil || !id.Gateway || (t.ProductID == id.ProductID && t.DeviceName == id.DeviceName) {
		if err == nil && id.Gateway && t.Family == protocol.FamilyGateway && t.Direction == protocol.Up {
			r.svc.HandleOperation(ctx, id.ProductID, id.DeviceName, payload)
			return
		}
		r.next.HandleUplink(ctx, id, topic, payload)
		return
	}
	// The broker's ACL let the gateway publish this for a sub-device online
	// through it: process it as the sub-device's own.
	r.next.HandleUplink(ctx, devauth.Identity{
		ProductID:     t.ProductID,
		DeviceName:    t.DeviceName,
		ClientID:      protocol.ClientID(t.ProductID, t.DeviceName),
		Method:        id.Method,
		ProtocolLevel: id.ProtocolLevel,
	}, topic, payload)
}

// subDeviceDirectory implements gateway.Directory with the bus's
// sub-device-nodes bucket, read by (*cluster).Locate.
type subDeviceDirectory struct {
	nodes *bus.SubDeviceNodes
	self  string
}

func (d subDeviceDirectory) record(gw gateway.DeviceID) bus.SubDeviceRecord {
	return bus.SubDeviceRecord{Node: d.self, GatewayProductID: gw.ProductID, GatewayDeviceName: gw.DeviceName}
}

// SubDeviceOnline implements gateway.Directory.
func (d subDeviceDirectory) SubDeviceOnline(ctx context.Context, sub, gw gateway.DeviceID) error {
	return d.nodes.Put(ctx, sub.ProductID, sub.DeviceName, d.record(gw))
}

// SubDeviceOffline implements gateway.Directory.
func (d subDeviceDirectory) SubDeviceOffline(ctx context.Context, sub, gw gateway.DeviceID) error {
	return d.nodes.Delete(ctx, sub.ProductID, sub.DeviceName, d.record(gw))
}
