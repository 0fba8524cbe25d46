package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/thingo-iot/thingo/protocol"
	"github.com/thingo-iot/thingo/sdk"
)

func TestNewValidates(t *testing.T) {
	base := sdk.Config{ProductID: testPID, DeviceName: testDN, DeviceSecret: testSecret, Broker: "tcp://127.0.0.1:1883"}
	tests := []struct {
		name string
		mod  func(*sdk.Config)
		ok   bool
	}{
		{"key device", func(*sdk.Config) {}, true},
		{"ws gets /mqtt", func(c *sdk.Config) { c.Broker = "ws://127.0.0.1:8081" }, true},
		{"sha1", func(c *sdk.Config) { c.SignMethod = "hmacsha1" }, true},
		{"bad product id", func(c *sdk.Config) { c.ProductID = "abc" }, false},
		{"bad device name", func(c *sdk.Config) { c.DeviceName = "a/b" }, false},
		{"no credentials", func(c *sdk.Config) { c.DeviceSecret = "" }, false},
		{"secret and cert", func(c *sdk.Config) { c.CertFile, c.KeyFile = "a", "b" }, false},
		{"cert without key", func(c *sdk.Config) { c.DeviceSecret, c.CertFile = "", "a" }, false},
		{"bad base64 secret", func(c *sdk.Config) { c.DeviceSecret = "%%%" }, false},
		{"bad sign method", func(c *sdk.Config) { c.SignMethod = "md5" }, false},
		{"bad scheme", func(c *sdk.Config) { c.Broker = "http://127.0.0.1" }, false},
		{"no host", func(c *sdk.Config) { c.Broker = "tcp://" }, false},
		{"keepalive too long", func(c *sdk.Config) { c.KeepAlive = time.Hour }, false},
		{"backoff inverted", func(c *sdk.Config) { c.MinBackoff, c.MaxBackoff = time.Minute, time.Second }, false},
		{"missing cert file", func(c *sdk.Config) {
			c.DeviceSecret, c.CertFile, c.KeyFile, c.Broker = "", "/nonexistent.crt", "/nonexistent.key", "ssl://127.0.0.1:8883"
		}, false},
		{"tls-psk", func(c *sdk.Config) { c.Broker, c.TLSPSK = "ssl://127.0.0.1:8883", true }, true},
		{"tls-psk over tcp", func(c *sdk.Config) { c.TLSPSK = true }, false},
		{"tls-psk without secret", func(c *sdk.Config) {
			c.Broker, c.TLSPSK, c.DeviceSecret, c.CertFile, c.KeyFile = "ssl://127.0.0.1:8883", true, "", "a", "b"
		}, false},
		{"missing CA file", func(c *sdk.Config) { c.Broker, c.CAFile = "ssl://127.0.0.1:8883", "/nonexistent.pem" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.mod(&cfg)
			c, err := sdk.New(cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("New: err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, sdk.ErrInvalidConfig) {
				t.Errorf("err = %v, want ErrInvalidConfig", err)
			}
			if c != nil {
				_ = c.Close()
			}
		})
	}
}

func TestPublishSubscribe(t *testing.T) {
	b := startBroker(t)
	c := newClient(t, b.url(), nil)
	ctx := context.Background()
	if err := c.Publish(ctx, "x", 0, nil); !errors.Is(err, sdk.ErrNotConnected) {
		t.Fatalf("Publish before Connect: %v, want ErrNotConnected", err)
	}
	got := make(chan sdk.Message, 4)
	data := protocol.CustomTopic(testPID, testDN, "data")
	// Subscribed before Connect: sent on connect.
	if err := c.Subscribe(ctx, data, 1, func(_ context.Context, m sdk.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}
	mustConnect(t, c)
	if err := c.Connect(ctx); !errors.Is(err, sdk.ErrAlreadyConnected) {
		t.Fatalf("second Connect: %v", err)
	}
	other := protocol.CustomTopic(testPID, testDN, "other/+")
	if err := c.Subscribe(ctx, other, 0, func(_ context.Context, m sdk.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		topic string
		qos   byte
	}{{data, 1}, {protocol.CustomTopic(testPID, testDN, "other/a"), 0}} {
		payload := []byte("hello " + tc.topic)
		if err := c.Publish(ctx, tc.topic, tc.qos, payload); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if m.Topic != tc.topic || string(m.Payload) != string(payload) {
				t.Fatalf("got %s %q", m.Topic, m.Payload)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("message on %s not received", tc.topic)
		}
	}
	if err := c.Publish(ctx, data, 2, nil); err == nil {
		t.Fatal("QoS 2 publish accepted")
	}
	if err := c.Unsubscribe(ctx, other); err != nil {
		t.Fatal(err)
	}
}

// TestReconnect: a takeover by a second connection with the same client
// id drops the SDK's connection; it reconnects and resubscribes.
func TestReconnect(t *testing.T) {
	b := startBroker(t)
	var connects, losses atomic.Int32
	c := newClient(t, b.url(), func(cfg *sdk.Config) {
		cfg.OnConnect = func(bool) { connects.Add(1) }
		cfg.OnConnectionLost = func(error) { losses.Add(1) }
	})
	got := make(chan string, 16)
	topic := protocol.CustomTopic(testPID, testDN, "data")
	if err := c.Subscribe(context.Background(), topic, 1, func(_ context.Context, m sdk.Message) { got <- string(m.Payload) }); err != nil {
		t.Fatal(err)
	}
	mustConnect(t, c)

	o := mqtt.NewClientOptions().AddBroker(b.url()).SetClientID(protocol.ClientID(testPID, testDN)).
		SetAutoReconnect(false).SetCleanSession(true)
	intruder := mqtt.NewClient(o)
	if tok := intruder.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("intruder connect: %v", tok.Error())
	}
	defer intruder.Disconnect(0)
	waitFor(t, 20*time.Second, func() error {
		if losses.Load() < 1 || connects.Load() < 2 || !c.IsConnected() {
			return fmt.Errorf("losses %d connects %d", losses.Load(), connects.Load())
		}
		return nil
	})
	// The renewed subscription delivers again.
	waitFor(t, 20*time.Second, func() error {
		if err := b.srv.Publish(topic, []byte("after"), false, 0); err != nil {
			return err
		}
		select {
		case p := <-got:
			if p == "after" {
				return nil
			}
			return fmt.Errorf("got %q", p)
		case <-time.After(100 * time.Millisecond):
			return errors.New("nothing received")
		}
	})
}

type denyHook struct{ mochi.HookBase }

func (denyHook) ID() string                                               { return "deny" }
func (denyHook) Provides(b byte) bool                                     { return b == mochi.OnConnectAuthenticate }
func (denyHook) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return false }

func TestConnectRefused(t *testing.T) {
	b := startBrokerWith(t, new(denyHook))
	c := newClient(t, b.url(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := c.Connect(ctx)
	var ce *sdk.ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("Connect: %v, want *ConnectError", err)
	}
	if ce.Code != protocol.ConnackBadUsernameOrPassword && ce.Code != protocol.ConnackNotAuthorized {
		t.Errorf("code = %v", ce.Code)
	}
}

func TestConnectContextEnds(t *testing.T) {
	// Nothing listens on this address once the broker is closed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "tcp://" + l.Addr().String()
	_ = l.Close()
	c := newClient(t, addr, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := c.Connect(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Connect: %v, want DeadlineExceeded", err)
	}
}

// TestCloseLeavesNoGoroutine: after Close every goroutine of the client
// (paho's included) has ended.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	b := startBroker(t)
	b.setResponder(func(topic string, payload []byte) (string, []byte, bool) {
		if rt, reply, ok := echoResponder(topic, payload); ok {
			return rt, reply, ok
		}
		return gatewayResponder(topic, payload)
	})
	before := runtime.NumGoroutine()
	c := newClient(t, b.url(), nil)
	c.OnControl(func(context.Context, map[string]any) (int, string) { return 0, "ok" })
	g := c.Gateway()
	mustConnect(t, c)
	ctx := context.Background()
	if err := g.Online(ctx, sdk.SubDevice{ProductID: "SUBPID0001", DeviceName: "s1"}); err != nil {
		t.Fatal(err)
	}
	topic := protocol.CustomTopic(testPID, testDN, "data")
	if err := c.Subscribe(ctx, topic, 1, func(context.Context, sdk.Message) {}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReportProperties(ctx, map[string]any{"power_switch": 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServerTime(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.Publish(ctx, topic, 0, nil); !errors.Is(err, sdk.ErrClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
	waitFor(t, 10*time.Second, func() error {
		if n := runtime.NumGoroutine(); n > before {
			return fmt.Errorf("%d goroutines, %d before", n, before)
		}
		return nil
	})
}
