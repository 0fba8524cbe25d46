package sdk_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/thingo-iot/thingo/sdk"
)

const (
	testPID    = "AB12CD34EF"
	testDN     = "dev001"
	testSecret = "MDEyMzQ1Njc4OWFiY2RlZg=="
)

// responder answers a device's uplink publish: it returns the topic and
// payload of the reply, or ok false for no reply.
type responder func(topic string, payload []byte) (replyTopic string, reply []byte, ok bool)

// fakeBroker is an in-process MQTT broker on 127.0.0.1:0 that lets every
// client in, records uplink publishes and answers them with a responder.
// mochi refuses client publishes on `$sys/...` (it reads it as `$SYS`), so
// uplinks are seen in OnPacketRead, before that check.
type fakeBroker struct {
	srv  *mochi.Server
	addr string

	mu      sync.Mutex
	respond responder
	uplinks []published
	notify  chan struct{}
}

type published struct {
	Topic   string
	Payload []byte
}

type uplinkHook struct {
	mochi.HookBase
	b *fakeBroker
}

func (h *uplinkHook) ID() string { return "uplink" }

func (h *uplinkHook) Provides(b byte) bool { return b == mochi.OnPacketRead }

func (h *uplinkHook) OnPacketRead(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Type == packets.Publish {
		h.b.record(pk.TopicName, bytes.Clone(pk.Payload))
	}
	return pk, nil
}

func startBroker(t *testing.T) *fakeBroker {
	t.Helper()
	return startBrokerWith(t, new(auth.AllowHook))
}

// startBrokerWith starts a broker whose authentication is authHook.
func startBrokerWith(t *testing.T, authHook mochi.Hook) *fakeBroker {
	t.Helper()
	srv := mochi.New(&mochi.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})
	b := &fakeBroker{srv: srv, notify: make(chan struct{}, 1)}
	if err := srv.AddHook(authHook, nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddHook(&uplinkHook{b: b}, nil); err != nil {
		t.Fatal(err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "tcp", Address: "127.0.0.1:0"})
	if err := srv.AddListener(l); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	b.addr = l.Address()
	t.Cleanup(func() { _ = srv.Close() })
	return b
}

func (b *fakeBroker) url() string { return "tcp://" + b.addr }

func (b *fakeBroker) setResponder(r responder) {
	b.mu.Lock()
	b.respond = r
	b.mu.Unlock()
}

func (b *fakeBroker) record(topic string, payload []byte) {
	b.mu.Lock()
	b.uplinks = append(b.uplinks, published{topic, payload})
	r := b.respond
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
	if r == nil {
		return
	}
	if rt, reply, ok := r(topic, payload); ok {
		// Publish from another goroutine: this hook runs on the client's
		// read loop.
		go func() { _ = b.srv.Publish(rt, reply, false, 1) }()
	}
}

// waitUplink polls until an uplink on topic satisfies match.
func (b *fakeBroker) waitUplink(t *testing.T, topic string, match func([]byte) bool) []byte {
	t.Helper()
	var got []byte
	waitFor(t, 10*time.Second, func() error {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.uplinks {
			if p.Topic == topic && match(p.Payload) {
				got = p.Payload
				return nil
			}
		}
		return errors.New("no matching uplink on " + topic)
	})
	return got
}

// newClient returns a key-device client of the broker, closed at cleanup.
func newClient(t *testing.T, broker string, mod func(*sdk.Config)) *sdk.Client {
	t.Helper()
	cfg := sdk.Config{
		ProductID: testPID, DeviceName: testDN, DeviceSecret: testSecret, Broker: broker,
		CleanSession: true, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := sdk.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func mustConnect(t *testing.T, c *sdk.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("Connect: %v", err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// waitFor polls f until it returns nil or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %v: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
