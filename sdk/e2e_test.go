package sdk_test

// End-to-end tests against a real Thingo node (internal/app on random
// loopback ports), the same composition root as `thingo serve`.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/thingo-iot/thingo/internal/apiclient"
	"github.com/thingo-iot/thingo/internal/app"
	"github.com/thingo-iot/thingo/internal/apptest"
	"github.com/thingo-iot/thingo/protocol"
	"github.com/thingo-iot/thingo/sdk"
)

type node struct {
	t   *testing.T
	app *app.App
	api *apiclient.Client
}

func startNode(t *testing.T) *node {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	n := apptest.Start(t, "")
	return &node{t: t, app: n.App, api: n.API}
}

func (n *node) call(action string, req, resp any) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := n.api.Call(ctx, action, req, resp); err != nil {
		n.t.Fatalf("%s: %v", action, err)
	}
}

// newProduct creates a product; auth "2" is key, "1" certificate.
func (n *node) newProduct(auth string) string {
	n.t.Helper()
	var pr struct{ Project struct{ ProjectId string } }
	n.call("CreateProject", map[string]any{"ProjectName": "sdk", "ProjectDesc": "sdk e2e"}, &pr)
	var prod struct{ Product struct{ ProductId string } }
	n.call("CreateStudioProduct", map[string]any{
		"ProductName": fmt.Sprintf("p%d", time.Now().UnixNano()%1e9), "CategoryId": 1, "ProductType": 0,
		"EncryptionType": auth, "NetType": "wifi", "DataProtocol": 1, "ProductDesc": "sdk",
		"ProjectId": pr.Project.ProjectId,
	}, &prod)
	return prod.Product.ProductId
}

type deviceData struct{ DeviceName, DevicePsk, DeviceCert, DevicePrivateKey string }

func (n *node) newDevice(pid, name string) deviceData {
	n.t.Helper()
	var resp struct{ Data deviceData }
	n.call("CreateDevice", map[string]any{"ProductId": pid, "DeviceName": name}, &resp)
	return resp.Data
}

func (n *node) url(listener string) string {
	addr := n.app.MQTTAddr(listener)
	if addr == nil {
		n.t.Fatalf("listener %s is off", listener)
	}
	scheme := map[string]string{"tcp": "tcp://", "tls": "ssl://", "ws": "ws://", "wss": "wss://"}[listener]
	return scheme + addr.String() // ws paths default to /mqtt
}

func (n *node) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(n.app.CAPEM()) {
		n.t.Fatal("CA PEM not parsable")
	}
	return pool
}

// roundTrip publishes on the device's data topic and waits for the echo of
// its own subscription.
func roundTrip(t *testing.T, c *sdk.Client, pid, dn string) {
	t.Helper()
	ctx := context.Background()
	topic := protocol.CustomTopic(pid, dn, "data")
	got := make(chan string, 8)
	if err := c.Subscribe(ctx, topic, 1, func(_ context.Context, m sdk.Message) { got <- string(m.Payload) }); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("ping %d", time.Now().UnixNano())
	if err := c.Publish(ctx, topic, 1, []byte(want)); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != want {
			t.Fatalf("received %q, want %q", p, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("own message on the data topic not received")
	}
	// A topic outside the device's space is refused.
	err := c.Subscribe(ctx, protocol.CustomTopic(pid, "someone-else", "data"), 0, func(context.Context, sdk.Message) {})
	if !errors.Is(err, sdk.ErrSubscriptionRefused) {
		t.Fatalf("foreign subscribe: %v, want ErrSubscriptionRefused", err)
	}
}

func TestE2EKeyDevice(t *testing.T) {
	n := startNode(t)
	pid := n.newProduct("2")
	for _, tc := range []struct{ listener, method string }{
		{"tcp", "hmacsha256"}, {"ws", "hmacsha1"}, {"tls", "hmacsha256"},
	} {
		t.Run(tc.listener, func(t *testing.T) {
			d := n.newDevice(pid, "key-"+tc.listener)
			c := newClient(t, n.url(tc.listener), func(cfg *sdk.Config) {
				cfg.ProductID, cfg.DeviceName, cfg.DeviceSecret, cfg.SignMethod = pid, d.DeviceName, d.DevicePsk, tc.method
				cfg.RootCAs, cfg.ServerName = n.roots(), "localhost"
			})
			mustConnect(t, c)
			roundTrip(t, c, pid, d.DeviceName)
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		d := n.newDevice(pid, "wrong")
		c := newClient(t, n.url("tcp"), func(cfg *sdk.Config) {
			cfg.ProductID, cfg.DeviceName, cfg.DeviceSecret = pid, d.DeviceName, "AAAAAAAAAAAAAAAAAAAAAA=="
		})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var ce *sdk.ConnectError
		if err := c.Connect(ctx); !errors.As(err, &ce) || ce.Code != protocol.ConnackBadUsernameOrPassword {
			t.Fatalf("Connect: %v, want ConnectError 0x04", err)
		}
	})
}

// TestE2EReconnect: a second connection of the same device takes over; the
// SDK reconnects on its own and its subscriptions work again.
func TestE2EReconnect(t *testing.T) {
	n := startNode(t)
	pid := n.newProduct("2")
	d := n.newDevice(pid, "lamp")
	var connects, losses atomic.Int32
	c := newClient(t, n.url("tcp"), func(cfg *sdk.Config) {
		cfg.ProductID, cfg.DeviceName, cfg.DeviceSecret = pid, d.DeviceName, d.DevicePsk
		cfg.MinBackoff, cfg.MaxBackoff = 100*time.Millisecond, 2*time.Second
		cfg.OnConnect = func(bool) { connects.Add(1) }
		cfg.OnConnectionLost = func(error) { losses.Add(1) }
	})
	mustConnect(t, c)
	roundTrip(t, c, pid, d.DeviceName)

	clientID, user, pass, err := protocol.DeviceCredentials(pid, d.DeviceName, d.DevicePsk, protocol.MethodHMACSHA256, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	o := mqtt.NewClientOptions().AddBroker(n.url("ws") + "/mqtt").SetClientID(clientID).SetUsername(user).
		SetPassword(pass).SetAutoReconnect(false).SetProtocolVersion(4)
	intruder := mqtt.NewClient(o)
	if tok := intruder.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("intruder connect: %v", tok.Error())
	}
	defer intruder.Disconnect(0)
	waitFor(t, 30*time.Second, func() error {
		if losses.Load() < 1 || connects.Load() < 2 || !c.IsConnected() {
			return fmt.Errorf("losses %d, connects %d", losses.Load(), connects.Load())
		}
		return nil
	})
	// Publishing the data topic echoes through the renewed subscription.
	topic := protocol.CustomTopic(pid, d.DeviceName, "data")
	got := make(chan string, 8)
	if err := c.Subscribe(context.Background(), topic, 1, func(_ context.Context, m sdk.Message) { got <- string(m.Payload) }); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(context.Background(), topic, 1, []byte("back")); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "back" {
			t.Fatalf("got %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received after reconnecting")
	}
}

// TestE2ECertificateDevice: a certificate product's device connects over
// ssl:// and wss:// with the certificate CreateDevice issued.
func TestE2ECertificateDevice(t *testing.T) {
	n := startNode(t)
	pid := n.newProduct("1")
	d := n.newDevice(pid, "camera1")
	cert, err := tls.X509KeyPair([]byte(d.DeviceCert), []byte(d.DevicePrivateKey))
	if err != nil {
		t.Fatalf("CreateDevice certificate: %v", err)
	}
	for _, listener := range []string{"tls", "wss"} {
		t.Run(listener, func(t *testing.T) {
			c := newClient(t, n.url(listener), func(cfg *sdk.Config) {
				cfg.ProductID, cfg.DeviceName, cfg.DeviceSecret = pid, d.DeviceName, ""
				cfg.Certificate, cfg.RootCAs, cfg.ServerName = &cert, n.roots(), "localhost"
			})
			mustConnect(t, c)
			roundTrip(t, c, pid, d.DeviceName)
		})
	}
	t.Run("device_info.json", func(t *testing.T) {
		dir := t.TempDir()
		write := func(name, content string) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		write("camera1_cert.crt", d.DeviceCert)
		write("camera1_private.key", d.DevicePrivateKey)
		write("ca.pem", string(n.app.CAPEM()))
		info := sdk.DeviceInfo{AuthMode: sdk.AuthModeCert, ProductID: pid, DeviceName: d.DeviceName,
			Cert: sdk.CertDeviceInfo{CertFile: "camera1_cert.crt", KeyFile: "camera1_private.key"}}
		path := filepath.Join(dir, "device_info.json")
		if err := info.Save(path); err != nil {
			t.Fatal(err)
		}
		loaded, err := sdk.LoadDeviceInfo(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg := loaded.Config(n.url("tls"))
		cfg.CAFile, cfg.ServerName = filepath.Join(dir, "ca.pem"), "localhost"
		c, err := sdk.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		mustConnect(t, c)
		roundTrip(t, c, pid, d.DeviceName)
	})
}
