package sdk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// SubDeviceClient is a sub-device of a Gateway: it offers the thing-model
// calls of a Client for the sub-device's identity, multiplexed over the
// gateway's connection (topics `$thing/up/.../{subPid}/{subDn}`). The
// platform accepts its messages only while it is online (Gateway.Online).
// It is safe for concurrent use.
type SubDeviceClient struct {
	g     *Gateway
	id    SubDevice
	thing *thing

	mu     sync.Mutex
	online bool
	extra  map[string]Handler // topics subscribed with Subscribe
}

// SubDevice returns the handle of sub-device pid/dn (the same handle on
// every call).
func (g *Gateway) SubDevice(pid, dn string) *SubDeviceClient {
	id := SubDevice{ProductID: pid, DeviceName: dn}
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.subs[id]
	if s == nil {
		s = &SubDeviceClient{g: g, id: id, thing: newThing(g.c, pid, dn), extra: map[string]Handler{}}
		g.subs[id] = s
	}
	return s
}

// ProductID returns the sub-device's product id.
func (s *SubDeviceClient) ProductID() string { return s.id.ProductID }

// DeviceName returns the sub-device's name.
func (s *SubDeviceClient) DeviceName() string { return s.id.DeviceName }

// IsOnline reports whether the sub-device was brought online and not taken
// offline since (it stays online across the gateway's reconnections).
func (s *SubDeviceClient) IsOnline() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.online
}

// topics returns the downlink topics the gateway subscribes for s.
func (s *SubDeviceClient) topics() map[string]Handler {
	t := s.thing.downlinks()
	s.mu.Lock()
	maps.Copy(t, s.extra)
	s.mu.Unlock()
	return t
}

// Online brings sub-devices online through the gateway and subscribes
// their downlink topics. Sub-devices the platform refused are reported as
// *GatewayResultError joined in the error; the others are online.
func (g *Gateway) Online(ctx context.Context, subs ...SubDevice) error {
	done, err := g.perDevice(ctx, gwOnline, refs(subs))
	var errs []error
	for _, id := range done {
		s := g.SubDevice(id.ProductID, id.DeviceName)
		s.mu.Lock()
		s.online = true
		s.mu.Unlock()
		if serr := g.c.subscribeLive(ctx, s.topics()); serr != nil {
			errs = append(errs, fmt.Errorf("sdk: sub-device %s/%s topics: %w", id.ProductID, id.DeviceName, serr))
		}
	}
	return errors.Join(append(errs, err)...)
}

// Offline takes sub-devices offline and unsubscribes their topics.
func (g *Gateway) Offline(ctx context.Context, subs ...SubDevice) error {
	for _, id := range subs {
		g.wentOffline(ctx, id)
	}
	_, err := g.perDevice(ctx, gwOffline, refs(subs))
	return err
}

// wentOffline marks a sub-device offline and unsubscribes its topics.
func (g *Gateway) wentOffline(ctx context.Context, id SubDevice) {
	g.mu.Lock()
	s := g.subs[id]
	g.mu.Unlock()
	if s == nil {
		return
	}
	s.mu.Lock()
	was := s.online
	s.online = false
	s.mu.Unlock()
	if !was {
		return
	}
	if err := g.c.unsubscribeLive(ctx, slices.Collect(maps.Keys(s.topics()))...); err != nil && !errors.Is(err, ErrNotConnected) {
		g.c.log.Debug("unsubscribe sub-device topics", "product", id.ProductID, "device", id.DeviceName, "err", err)
	}
}

// reonline brings the online sub-devices online again after a
// reconnection; it runs as a connection hook.
func (g *Gateway) reonline(ctx context.Context) {
	g.mu.Lock()
	var ids []SubDevice
	for id, s := range g.subs {
		if s.IsOnline() {
			ids = append(ids, id)
		}
	}
	g.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	slices.SortFunc(ids, func(a, b SubDevice) int {
		return cmp.Or(cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.DeviceName, b.DeviceName))
	})
	if err := g.Online(ctx, ids...); err != nil {
		g.c.log.Warn("sub-devices not back online", "err", err)
		var re *GatewayResultError
		for _, e := range flatten(err) {
			if errors.As(e, &re) && re.SubDevice.ProductID != "" {
				if s := g.SubDevice(re.SubDevice.ProductID, re.SubDevice.DeviceName); s != nil {
					s.mu.Lock()
					s.online = false
					s.mu.Unlock()
				}
			}
		}
	}
}

// flatten returns the errors joined in err.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// Online brings the sub-device online (Gateway.Online).
func (s *SubDeviceClient) Online(ctx context.Context) error { return s.g.Online(ctx, s.id) }

// Offline takes the sub-device offline (Gateway.Offline).
func (s *SubDeviceClient) Offline(ctx context.Context) error { return s.g.Offline(ctx, s.id) }

// OnControl sets the handler of the sub-device's controls (Client.OnControl).
func (s *SubDeviceClient) OnControl(h ControlHandler) { s.thing.setControl(h) }

// OnAction sets the handler of the sub-device's action id (Client.OnAction).
func (s *SubDeviceClient) OnAction(id string, h ActionHandler) { s.thing.setAction(id, h) }

// ReportProperties reports the sub-device's property values
// (Client.ReportProperties).
func (s *SubDeviceClient) ReportProperties(ctx context.Context, params map[string]any) (Reply, error) {
	return s.thing.reportProperties(ctx, params)
}

// GetStatus asks for the sub-device's latest values and pending control
// (Client.GetStatus).
func (s *SubDeviceClient) GetStatus(ctx context.Context) (Status, error) {
	return s.thing.getStatus(ctx)
}

// ClearControl drops the sub-device's pending control (Client.ClearControl).
func (s *SubDeviceClient) ClearControl(ctx context.Context) (Reply, error) {
	return s.thing.clearControl(ctx)
}

// ReportInfo reports the sub-device's information (Client.ReportInfo).
func (s *SubDeviceClient) ReportInfo(ctx context.Context, info map[string]any) (Reply, error) {
	return s.thing.reportInfo(ctx, info)
}

// PostEvent posts an event of the sub-device (Client.PostEvent).
func (s *SubDeviceClient) PostEvent(ctx context.Context, id, typ string, params map[string]any) (Reply, error) {
	return s.thing.postEvent(ctx, id, typ, params)
}

// PostEvents posts several events of the sub-device (Client.PostEvents).
func (s *SubDeviceClient) PostEvents(ctx context.Context, events []Event) (Reply, error) {
	return s.thing.postEvents(ctx, events)
}

// Publish publishes on one of the sub-device's topics over the gateway's
// connection (Client.Publish).
func (s *SubDeviceClient) Publish(ctx context.Context, topic string, qos byte, payload []byte) error {
	return s.g.c.Publish(ctx, topic, qos, payload)
}

// Subscribe subscribes one of the sub-device's topics (e.g. its custom
// topics or `$ota/update/{pid}/{dn}`) at QoS 1 for handler. The
// subscription is made while the sub-device is online and renewed each
// time it comes online again; before that it is only recorded.
func (s *SubDeviceClient) Subscribe(ctx context.Context, topic string, handler Handler) error {
	if handler == nil {
		return fmt.Errorf("sdk: subscribe %s: nil handler", topic)
	}
	s.mu.Lock()
	s.extra[topic] = handler
	online := s.online
	s.mu.Unlock()
	if !online {
		return nil
	}
	if err := s.g.c.subscribeLive(ctx, map[string]Handler{topic: handler}); err != nil {
		return fmt.Errorf("sdk: subscribe %s: %w", topic, err)
	}
	return nil
}
