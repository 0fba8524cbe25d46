// Package apitest starts the iotexplorer API in-process for tests, including
// the official-SDK tests under test/sdk, and offers a small signed client.
package apitest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/api"
	"github.com/thingo-iot/thingo/internal/api/tc3"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/registry/registrytest"
	"github.com/thingo-iot/thingo/internal/secretbox"
)

// Test credentials of the server (the reference's research credentials).
const (
	SecretID  = "AKIDEXAMPLEresearch"
	SecretKey = "secretKeyForResearchOnly"
)

// Server is a running API on 127.0.0.1.
type Server struct {
	URL      string // http://127.0.0.1:port
	Host     string // 127.0.0.1:port
	Sessions *Sessions
	Registry *registry.Service
	http     *httptest.Server
}

// Options configure NewServer.
type Options struct {
	Store registry.Store // nil: an in-memory registrytest.Store
}

// NewServer starts the API; it is closed when the test ends.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	store := opts.Store
	if store == nil {
		store = registrytest.NewStore()
	}
	box, err := secretbox.New(make([]byte, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.NewService(store, box, Issuer{}, nil)
	sess := &Sessions{Online: map[string]bool{}}
	h, err := api.NewHandler(api.Config{
		Registry: reg,
		Keys:     api.StaticKeys{SecretID: SecretKey},
		Sessions: sess,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h) // binds 127.0.0.1, random port
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return &Server{URL: srv.URL, Host: u.Host, Sessions: sess, Registry: reg, http: srv}
}

// Sessions is an api.Sessions that records calls; devices listed in Online
// ("PID/name") accept publishes, others are offline.
type Sessions struct {
	mu           sync.Mutex
	Online       map[string]bool
	Disconnected []string
	Published    []Published
}

// Published is one recorded publish.
type Published struct {
	Device  string // PID/name
	Topic   string
	Payload []byte
	QoS     byte
}

// SetOnline marks a device online or offline.
func (s *Sessions) SetOnline(pid, dn string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Online[pid+"/"+dn] = on
}

// Disconnect implements api.Sessions.
func (s *Sessions) Disconnect(_ context.Context, pid, dn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Disconnected = append(s.Disconnected, pid+"/"+dn)
	delete(s.Online, pid+"/"+dn)
	return nil
}

// Publish implements api.Sessions.
func (s *Sessions) Publish(_ context.Context, pid, dn, topic string, payload []byte, qos byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.Online[pid+"/"+dn] {
		return fmt.Errorf("publish to %s/%s: %w", pid, dn, api.ErrDeviceOffline)
	}
	s.Published = append(s.Published, Published{Device: pid + "/" + dn, Topic: topic, Payload: payload, QoS: qos})
	return nil
}

// Snapshot returns copies of the recorded disconnects and publishes.
func (s *Sessions) Snapshot() ([]string, []Published) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.Disconnected...), append([]Published(nil), s.Published...)
}

// Issuer issues self-signed device certificates; it stands in for
// internal/pki in tests.
type Issuer struct{}

// IssueDeviceCert implements registry.CertIssuer.
func (Issuer) IssueDeviceCert(productID, deviceName string) (string, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: productID + deviceName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})), nil
}

// Response is a decoded API envelope.
type Response struct {
	Raw       json.RawMessage // the inner Response object
	Code      string          // "" on success
	Message   string
	RequestID string
}

// Call sends a signed POST of action with params to the server.
func (s *Server) Call(t testing.TB, action string, params any) Response {
	t.Helper()
	return s.CallWith(t, action, params, SecretID, SecretKey, time.Now())
}

// CallWith sends a signed POST with the given credentials and time.
func (s *Server) CallWith(t testing.TB, action string, params any, id, key string, now time.Time) Response {
	t.Helper()
	body, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", s.URL+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-TC-Action", action)
	req.Header.Set("X-TC-Version", api.Version)
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("Authorization", tc3.Sign(id, key, tc3.Request{
		Method: "POST", Host: s.Host, ContentType: "application/json", Payload: body,
		Timestamp: ts, Service: "iotexplorer",
	}))
	return s.Do(t, req)
}

// Do sends a prepared request and decodes the envelope; it fails the test
// unless the answer is HTTP 200 application/json.
func (s *Server) Do(t testing.TB, req *http.Request) Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("HTTP %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), data)
	}
	var env struct {
		Response json.RawMessage
	}
	if err := json.Unmarshal(data, &env); err != nil || env.Response == nil {
		t.Fatalf("not an envelope: %s", data)
	}
	var inner struct {
		Error *struct {
			Code, Message string
		}
		RequestId string
	}
	if err := json.Unmarshal(env.Response, &inner); err != nil {
		t.Fatalf("bad Response: %s", env.Response)
	}
	if inner.RequestId == "" {
		t.Fatalf("no RequestId: %s", data)
	}
	r := Response{Raw: env.Response, RequestID: inner.RequestId}
	if inner.Error != nil {
		r.Code, r.Message = inner.Error.Code, inner.Error.Message
	}
	return r
}
