// Package e2e drives a real Thingo node (the same composition root as
// `thingo serve`, on random loopback ports) with real MQTT clients (paho) and
// the management API.
package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/thingo-iot/thingo/internal/apiclient"
	"github.com/thingo-iot/thingo/internal/app"
	"github.com/thingo-iot/thingo/internal/apptest"
	"github.com/thingo-iot/thingo/protocol"
)

type server struct {
	t       *testing.T
	app     *app.App
	dataDir string
	api     *apiclient.Client
	node    *apptest.Node
}

// startServer starts a node on 127.0.0.1 with random ports (apptest.Start)
// and a short offline pacing. extra are more `thingo serve` flags.
func startServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	n := apptest.Start(t, dataDir, append([]string{"--offline-pacing", "5ms"}, extra...)...)
	return &server{t: t, app: n.App, dataDir: n.DataDir, api: n.API, node: n}
}

// stop shuts the node down gracefully and waits for it (idempotent).
func (s *server) stop() { s.node.Stop() }

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (s *server) call(action string, req, resp any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return s.api.Call(ctx, action, req, resp)
}

func (s *server) mustCall(action string, req, resp any) {
	s.t.Helper()
	if err := s.call(action, req, resp); err != nil {
		s.t.Fatalf("%s: %v", action, err)
	}
}

func apiCode(err error) string {
	var e *apiclient.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

type device struct {
	ProductID, Name, PSK, CertPEM, KeyPEM string
}

// newProduct creates a project and a product; auth is "2" (key) or "1"
// (certificate).
func (s *server) newProduct(auth string) string {
	s.t.Helper()
	var pr struct{ Project struct{ ProjectId string } }
	s.mustCall("CreateProject", map[string]any{"ProjectName": "e2e", "ProjectDesc": "end to end"}, &pr)
	var prod struct{ Product struct{ ProductId string } }
	s.mustCall("CreateStudioProduct", map[string]any{
		"ProductName": fmt.Sprintf("p%d", time.Now().UnixNano()%1e9), "CategoryId": 1, "ProductType": 0,
		"EncryptionType": auth, "NetType": "wifi", "DataProtocol": 1, "ProductDesc": "e2e",
		"ProjectId": pr.Project.ProjectId,
	}, &prod)
	if prod.Product.ProductId == "" {
		s.t.Fatal("CreateStudioProduct returned no ProductId")
	}
	return prod.Product.ProductId
}

func (s *server) newDevice(productID, name string) device {
	s.t.Helper()
	var resp struct {
		Data struct{ DeviceName, DevicePsk, DeviceCert, DevicePrivateKey string }
	}
	s.mustCall("CreateDevice", map[string]any{"ProductId": productID, "DeviceName": name}, &resp)
	return device{ProductID: productID, Name: name, PSK: resp.Data.DevicePsk, CertPEM: resp.Data.DeviceCert, KeyPEM: resp.Data.DevicePrivateKey}
}

// mqttOpts are paho options for a key device over the given listener
// ("tcp", "ws"); method "" means hmacsha256.
func (s *server) keyOpts(d device, listener string) *mqtt.ClientOptions {
	s.t.Helper()
	clientID, user, pass, err := protocol.DeviceCredentials(d.ProductID, d.Name, d.PSK, "hmacsha256", time.Time{})
	if err != nil {
		s.t.Fatal(err)
	}
	o := s.baseOpts(listener)
	o.SetClientID(clientID).SetUsername(user).SetPassword(pass)
	return o
}

func (s *server) baseOpts(listener string) *mqtt.ClientOptions {
	addr := s.app.MQTTAddr(listener)
	if addr == nil {
		s.t.Fatalf("listener %s is off", listener)
	}
	url := map[string]string{"tcp": "tcp://", "tls": "ssl://", "ws": "ws://", "wss": "wss://"}[listener] + addr.String()
	if listener == "ws" || listener == "wss" {
		url += "/mqtt"
	}
	o := mqtt.NewClientOptions().AddBroker(url).
		SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(10 * time.Second).SetKeepAlive(60 * time.Second).
		SetProtocolVersion(4)
	if listener == "tls" || listener == "wss" {
		o.SetTLSConfig(s.tlsConfig(nil))
	}
	return o
}

func (s *server) tlsConfig(cert *tls.Certificate) *tls.Config {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.app.CAPEM()) {
		s.t.Fatal("CA PEM not parsable")
	}
	c := &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}
	return c
}

// connackError is a refused CONNECT and its return code.
type connackError struct {
	code byte
	err  error
}

func (e *connackError) Error() string { return fmt.Sprintf("connack 0x%02x: %v", e.code, e.err) }

func connackCode(err error) byte {
	var ce *connackError
	if errors.As(err, &ce) {
		return ce.code
	}
	return 0xff
}

func connect(t *testing.T, o *mqtt.ClientOptions) (mqtt.Client, error) {
	t.Helper()
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(15 * time.Second) {
		return nil, errors.New("connect timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, &connackError{code: tok.(*mqtt.ConnectToken).ReturnCode(), err: err}
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c, nil
}

func mustConnect(t *testing.T, o *mqtt.ClientOptions) mqtt.Client {
	t.Helper()
	c, err := connect(t, o)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	return c
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
		time.Sleep(20 * time.Millisecond)
	}
}

func httpGet(url string) (int, string, error) {
	res, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), nil
}

// defineExampleModel sets the C SDK example thing model
// (testdata/c_sdk_example_config.json) on a product.
func (s *server) defineExampleModel(pid string) {
	s.t.Helper()
	schema, err := os.ReadFile(filepath.Join("testdata", "c_sdk_example_config.json"))
	if err != nil {
		s.t.Fatal(err)
	}
	s.mustCall("ModifyModelDefinition", map[string]any{"ProductId": pid, "ModelSchema": string(schema)}, nil)
}

// jsonMessages subscribes c to topic and returns a function that waits (up to
// 10 s) for the next message and decodes it as a JSON object.
func jsonMessages(t *testing.T, c mqtt.Client, topic string) func() map[string]any {
	t.Helper()
	msgs := make(chan map[string]any, 10)
	subscribe(t, c, topic, func(_ mqtt.Client, m mqtt.Message) {
		var v map[string]any
		if err := json.Unmarshal(m.Payload(), &v); err == nil {
			msgs <- v
		}
	})
	return func() map[string]any {
		t.Helper()
		select {
		case v := <-msgs:
			return v
		case <-time.After(10 * time.Second):
			t.Fatalf("no message on %s", topic)
			return nil
		}
	}
}
