package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"

	"github.com/thingo-iot/thingo/internal/api"
	"github.com/thingo-iot/thingo/internal/broadcast"
	"github.com/thingo-iot/thingo/internal/broker"
	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/remoteconfig"
	"github.com/thingo-iot/thingo/internal/rrpc"
	"github.com/thingo-iot/thingo/internal/shadow"
	"github.com/thingo-iot/thingo/internal/twecall"
	"github.com/thingo-iot/thingo/protocol"
)

// uplinkHandler is one protocol's side of the uplink dispatch.
type uplinkHandler interface {
	HandleUplink(ctx context.Context, t protocol.Topic, payload []byte)
}

// protocols holds the smaller device protocols: RRPC, broadcast, remote
// configuration, the shadow (PROTOCOL.md §13.10) and TWecall (§11).
type protocols struct {
	rrpc      *rrpc.Service
	broadcast *broadcast.Service
	configs   *remoteconfig.Service
	shadow    *shadow.Service
	licenses  *twecall.LocalProvider
	twecall   *twecall.Service
	// byFamily routes uplinks of these families away from ingest.
	byFamily map[protocol.Family]uplinkHandler
}

// newProtocols builds the protocol services; pub must be given the broker
// before anything runs. secret is the node's secret key: TWecall tickets are
// signed with a key derived from it.
func newProtocols(store registry.Store, reg *registry.Service, things *devicedata.Service, pub *brokerPublisher,
	secret []byte, log *slog.Logger) (*protocols, error) {
	cs, ok := store.(remoteconfig.Store)
	if !ok {
		return nil, fmt.Errorf("store %T does not keep remote configurations", store)
	}
	ts, ok := store.(twecall.Store)
	if !ok {
		return nil, fmt.Errorf("store %T does not keep TWecall licenses", store)
	}
	p := &protocols{
		rrpc:   rrpc.New(pub, rrpc.DefaultTimeout, nil),
		shadow: shadow.New(things, pub, log.With("component", "shadow"), nil),
	}
	var err error
	p.broadcast, err = broadcast.New(broadcast.Config{Devices: reg, Publisher: pub, Logger: log.With("component", "broadcast")})
	if err != nil {
		return nil, err
	}
	p.configs, err = remoteconfig.New(remoteconfig.Config{Store: cs, Devices: reg, Publisher: pub,
		Logger: log.With("component", "remoteconfig")})
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("thingo twecall ticket key"))
	p.licenses, err = twecall.NewLocalProvider(ts, mac.Sum(nil), nil)
	if err != nil {
		return nil, err
	}
	p.twecall = twecall.New(p.licenses, pub, log.With("component", "twecall"))
	// A control set through the API reaches shadow devices as a delta too.
	pub.onControl = p.shadow.PushDelta
	p.byFamily = map[protocol.Family]uplinkHandler{
		protocol.FamilyRRPC:    p.rrpc,
		protocol.FamilyConfig:  p.configs,
		protocol.FamilyShadow:  p.shadow,
		protocol.FamilyTWecall: p.twecall,
	}
	return p, nil
}

// api returns the services the management API serves.
func (p *protocols) api() api.Protocols {
	return api.Protocols{RRPC: p.rrpc, Broadcast: p.broadcast, RemoteConfig: p.configs, TWecall: p.licenses}
}

// uplinks returns the broker's uplink handler: the protocols' families go to
// their services, everything else to next.
func (p *protocols) uplinks(next broker.Handler) broker.Handler {
	return uplinkRouter{next: next, byFamily: p.byFamily}
}

type uplinkRouter struct {
	next     broker.Handler
	byFamily map[protocol.Family]uplinkHandler
}

func (r uplinkRouter) HandleUplink(ctx context.Context, id devauth.Identity, topic string, payload []byte) {
	t, err := protocol.ParseTopic(topic)
	if err == nil && t.Direction == protocol.Up {
		if h, ok := r.byFamily[t.Family]; ok {
			h.HandleUplink(ctx, t, payload)
			return
		}
	}
	r.next.HandleUplink(ctx, id, topic, payload)
}

// controlStored is devicedata's ControlObserver: it passes a control stored
// by ControlDeviceData on to the shadow, which pushes the delta. onControl is
// set before anything runs, like the broker.
func (p *brokerPublisher) controlStored(ctx context.Context, productID, deviceName string) {
	if p.onControl != nil {
		p.onControl(ctx, productID, deviceName)
	}
}
