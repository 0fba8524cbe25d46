package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/thingo-iot/thingo/internal/broker"
	"github.com/thingo-iot/thingo/internal/bus"
	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/ingest"
	"github.com/thingo-iot/thingo/internal/registry"
)

// newThings builds the device-data service and the uplink handler. The
// returned publisher must be given the broker before anything runs.
func newThings(store registry.Store, reg *registry.Service, b *bus.Bus, log *slog.Logger) (*devicedata.Service, *ingest.Handler, *brokerPublisher, error) {
	ds, ok := store.(devicedata.Store)
	if !ok {
		return nil, nil, nil, fmt.Errorf("store %T does not keep device data", store)
	}
	pub := &brokerPublisher{}
	things, err := devicedata.NewService(devicedata.Config{
		Store: ds, Publisher: pub, Logger: log.With("component", "devicedata"),
		ControlObserver: pub.controlStored,
		RawPublisher:    busRaw{b: b},
	})
	if err != nil {
		return nil, nil, nil, err
	}
	h, err := ingest.New(ingest.Config{
		Data: things, Publisher: pub, LogLevels: logLevels{reg}, Logger: log.With("component", "ingest"),
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return things, h, pub, nil
}

// runThings runs the device-data service until stop is called; stop waits
// until the queued writes are committed. It runs apart from the serving
// context so that uplinks the broker drains at shutdown are still stored.
func runThings(ctx context.Context, things *devicedata.Service) (stop func()) {
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		things.Run(dctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// brokerPublisher sends platform messages through the local broker.
// onControl is set by newProtocols (see controlStored in protocols.go).
type brokerPublisher struct {
	b         *broker.Broker
	onControl func(ctx context.Context, productID, deviceName string)
}

// Publish delivers payload; an unreachable device is devicedata.ErrDeviceOffline.
func (p *brokerPublisher) Publish(ctx context.Context, productID, deviceName, topic string, payload []byte, qos byte) error {
	_, err := p.b.Deliver(ctx, productID, deviceName, topic, payload, qos)
	if errors.Is(err, broker.ErrDeviceOffline) || errors.Is(err, broker.ErrNotSubscribed) || errors.Is(err, broker.ErrNotRunning) {
		return errors.Join(devicedata.ErrDeviceOffline, err)
	}
	return err
}

// logLevels serves the registry's per-device log level.
type logLevels struct{ reg *registry.Service }

func (l logLevels) LogLevel(ctx context.Context, productID, deviceName string) (int, error) {
	d, err := l.reg.GetDevice(ctx, productID, deviceName)
	if err != nil {
		return 0, err
	}
	return d.Device.LogLevel, nil
}

// RawSubjectPrefix starts the bus subject of raw uplinks:
// thingo.raw.<pid>.<dn> (device names never contain '.', '*' or '>').
const RawSubjectPrefix = "thingo.raw."

// busRaw publishes raw uplinks on the bus, where rules can subscribe.
type busRaw struct{ b *bus.Bus }

// PublishRaw publishes payload on thingo.raw.<pid>.<dn> (core NATS, at most
// once); without a bus it does nothing.
func (r busRaw) PublishRaw(_ context.Context, productID, deviceName string, payload []byte) error {
	if r.b == nil || r.b.Conn() == nil {
		return nil
	}
	return r.b.Conn().Publish(RawSubjectPrefix+productID+"."+deviceName, payload)
}
