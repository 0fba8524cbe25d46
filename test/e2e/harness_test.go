// Package e2e drives a real Thingo node (the same composition root as
// `thingo serve`, on random loopback ports) with real MQTT clients (paho) and
// the management API.
package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/thingo-iot/thingo/internal/apiclient"
	"github.com/thingo-iot/thingo/internal/app"
	"github.com/thingo-iot/thingo/internal/config"
	"github.com/thingo-iot/thingo/protocol"
)

type server struct {
	t       *testing.T
	app     *app.App
	dataDir string
	api     *apiclient.Client
	cancel  context.CancelFunc
	done    chan error
	stopped sync.Once
}

// startServer starts a node on 127.0.0.1 with random ports. extra are more
// `thingo serve` flags.
func startServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	args := []string{
		"--data", dataDir,
		"--mqtt-addr", "127.0.0.1:0", "--mqtts-addr", "127.0.0.1:0",
		"--ws-addr", "127.0.0.1:0", "--wss-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--offline-pacing", "5ms",
	}
	args = append(args, extra...)
	env := map[string]string{"THINGO_TEST_POSTGRES_URL": ""}
	cfg, err := config.Load(args, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	level := slog.LevelWarn
	if os.Getenv("THINGO_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("app.New: %v", err)
	}
	s := &server{t: t, app: a, dataDir: dataDir, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- a.Run(ctx) }()
	select {
	case <-a.Ready():
	case err := <-s.done:
		t.Fatalf("server stopped during startup: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server not ready after 30s")
	}
	cred := a.AdminCredential()
	s.api = &apiclient.Client{URL: "http://" + a.HTTPAddr().String(), SecretID: cred.SecretID, SecretKey: cred.SecretKey}
	t.Cleanup(s.stop)
	return s
}

// stop shuts the node down gracefully and waits for it (idempotent).
func (s *server) stop() {
	s.stopped.Do(func() {
		s.cancel()
		select {
		case err := <-s.done:
			if err != nil {
				s.t.Errorf("server stopped with error: %v", err)
			}
		case <-time.After(30 * time.Second):
			s.t.Error("server did not stop within 30s")
		}
	})
}

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
