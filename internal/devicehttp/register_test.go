package devicehttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/thingo-iot/thingo/internal/dynreg"
	"github.com/thingo-iot/thingo/internal/dynreg/dynregtest"
	"github.com/thingo-iot/thingo/protocol"
)

const (
	testSecret = "PRODUCTSECRET0123456789a"
	testPID    = "AB12CD34EF" // auto-create, key
	prePID     = "PRE0000001" // pre-created, key, limit 2
	certPID    = "CERT000001" // auto-create, certificate
	offPID     = "OFF0000001" // dynamic registration off
	rereg      = "REREG00001" // pre-created, re-registration allowed
	brokenPID  = "BROKEN0001" // registry returns no credential

	// The C SDK's recorded request (c-sdk-http.log).
	recordedOldBody = `{"deviceName":"dev002","nonce":357742510,"productId":"AB12CD34EF","timestamp":1795627951,"signature":"NDQ1ZWU2M2VjOWYyZDFhM2NjZDQyOGU0NzM0M2YzNTlhMWI4ZjQ4MA=="}`
	recordedNewBody = `{"ProductId":"AB12CD34EF","DeviceName":"dev003"}`
	vectorPayload   = "NM28YZRAWr/mvD8Ma+OdDRgM97MDFhsi8itCqIwwPma4RniR61LF/Wne4y5Q6GnYZQw+kDYlpI/OuX/zt63l3g=="
)

var regNow = time.Unix(1795627951, 0)

var errStoreDown = errors.New("store down")

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type regEnv struct {
	svc      *RegisterHandler
	products *dynregtest.Products
	logs     *syncBuffer
}

func newRegEnv(t *testing.T, cfg dynreg.Config) *regEnv {
	t.Helper()
	p := dynregtest.NewProducts()
	p.AddProduct(testPID, dynreg.Settings{Type: dynreg.ModeAutoCreate, ProductSecret: testSecret, EncryptionType: dynreg.EncryptionKey}, nil)
	p.AddProduct(prePID, dynreg.Settings{Type: dynreg.ModePreCreated, Limit: 2, ProductSecret: testSecret, EncryptionType: dynreg.EncryptionKey},
		map[string]bool{"known": false, "active": true})
	p.AddProduct(certPID, dynreg.Settings{Type: dynreg.ModeAutoCreate, ProductSecret: testSecret, EncryptionType: dynreg.EncryptionCert}, nil)
	p.AddProduct(offPID, dynreg.Settings{Type: dynreg.ModeOff, ProductSecret: testSecret, EncryptionType: dynreg.EncryptionKey}, nil)
	p.AddProduct(rereg, dynreg.Settings{Type: dynreg.ModePreCreated, AllowReregister: true, ProductSecret: testSecret, EncryptionType: dynreg.EncryptionKey},
		map[string]bool{"active": true})
	p.AddProduct(brokenPID, dynreg.Settings{Type: dynreg.ModeAutoCreate, ProductSecret: testSecret, EncryptionType: dynregtest.EncryptionBroken}, nil)
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return regNow }
	}
	logs := &syncBuffer{}
	return &regEnv{svc: NewRegisterHandler(dynreg.New(p, cfg), slog.New(slog.NewTextHandler(logs, nil))), products: p, logs: logs}
}

func oldBody(pid, dn string, nonce, ts int64, secret string) string {
	r := protocol.OldRegisterRequest{DeviceName: dn, Nonce: nonce, ProductID: pid, Timestamp: ts}
	r.Signature = protocol.SignOldRegister(secret, r)
	b, _ := json.Marshal(r)
	return string(b)
}

func (e *regEnv) postOld(t *testing.T, body string) protocol.OldRegisterReply {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, protocol.PathRegisterOld, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	e.svc.RegisterOld(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	var reply protocol.OldRegisterReply
	if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil {
		t.Fatalf("reply %q: %v", w.Body, err)
	}
	return reply
}

func registerNewRequest(t *testing.T, pid, dn, host string, nonce, ts int64, secret, algo string) *http.Request {
	t.Helper()
	body := fmt.Sprintf(`{"ProductId":%q,"DeviceName":%q}`, pid, dn)
	p := protocol.HTTPSignParams{Method: http.MethodPost, Host: host, Path: protocol.PathRegisterNew, Algorithm: algo,
		Timestamp: strconv.FormatInt(ts, 10), Nonce: strconv.FormatInt(nonce, 10), Body: []byte(body)}
	sig, err := protocol.SignHTTP(secret, p)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "http://"+host+protocol.PathRegisterNew, strings.NewReader(body))
	r.Host = host
	r.Header.Set("Content-Type", "application/json")
	p.SetHeaders(r.Header, sig)
	return r
}

func (e *regEnv) postNew(t *testing.T, r *http.Request) protocol.NewRegisterResponse {
	t.Helper()
	w := httptest.NewRecorder()
	e.svc.RegisterNew(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	var reply protocol.NewRegisterReply
	if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil {
		t.Fatalf("reply %q: %v", w.Body, err)
	}
	return reply.Response
}

func TestRegisterOldRecorded(t *testing.T) {
	e := newRegEnv(t, dynreg.Config{})
	r := httptest.NewRequest(http.MethodPost, protocol.PathRegisterOld, strings.NewReader(recordedOldBody))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	e.svc.RegisterOld(w, r)
	var reply protocol.OldRegisterReply
	if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"code":0,"message":"success","len":53,"payload":%q,"requestId":%q}`, vectorPayload, reply.RequestID)
	if w.Body.String() != want {
		t.Fatalf("reply %s\nwant  %s", w.Body, want)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q", ct)
	}
}

func TestRegisterNewRecorded(t *testing.T) {
	e := newRegEnv(t, dynreg.Config{})
	srv := httptest.NewServer(e.svc.Handler())
	defer srv.Close()
	req, err := http.NewRequest(http.MethodPost, srv.URL+protocol.PathRegisterNew, strings.NewReader(recordedNewBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "ap-guangzhou.gateway.tencentdevices.com"
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("X-Tc-Algorithm", "hmacsha256")
	req.Header.Set("X-Tc-Timestamp", "1795627693")
	req.Header.Set("X-Tc-Nonce", "341841509")
	req.Header.Set("X-Tc-Signature", "W3s1a1hRzrmya3mSwg5iwvEaTFiYwvasiZCsY/GD0yI=")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var reply protocol.NewRegisterReply
	if err := json.Unmarshal(body, &reply); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"Response":{"Len":53,"Payload":%q,"RequestId":%q}}`, vectorPayload, reply.Response.RequestID)
	if string(body) != want {
		t.Fatalf("reply %s\nwant  %s", body, want)
	}
}

func TestRegisterOld(t *testing.T) {
	ts := regNow.Unix()
	tests := []struct {
		name string
		body string
		code int
	}{
		{"auto-create new device", oldBody(testPID, "new1", 1, ts, testSecret), 0},
		{"not json", `deviceName=x`, 1001},
		{"bad device name", oldBody(testPID, "bad name", 2, ts, testSecret), 1001},
		{"bad signature", oldBody(testPID, "dev1", 3, ts, "PRODUCTSECRET0123456789b"), 1002},
		{"unknown product", oldBody("ZZZZZZZZZZ", "dev1", 4, ts, testSecret), 1002},
		{"timestamp too old", oldBody(testPID, "dev1", 5, ts-301, testSecret), 1003},
		{"timestamp in the future", oldBody(testPID, "dev1", 6, ts+301, testSecret), 1003},
		{"timestamp at the edge", oldBody(testPID, "dev1", 7, ts-300, testSecret), 0},
		{"disabled", oldBody(offPID, "dev1", 8, ts, testSecret), 1010},
		{"pre-created known", oldBody(prePID, "known", 9, ts, testSecret), 0},
		{"pre-created unknown", oldBody(prePID, "stranger", 10, ts, testSecret), 1012},
		{"already active", oldBody(prePID, "active", 11, ts, testSecret), 1021},
		{"re-registration allowed", oldBody(rereg, "active", 12, ts, testSecret), 0},
		{"registry gives no credential", oldBody(brokenPID, "dev1", 13, ts, testSecret), 1500},
	}
	e := newRegEnv(t, dynreg.Config{IPRate: rate.Inf})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := e.postOld(t, tt.body)
			if reply.Code != tt.code {
				t.Fatalf("code %d (%s), want %d", reply.Code, reply.Message, tt.code)
			}
			if reply.RequestID == "" || reply.Message == "" {
				t.Fatalf("reply without request id or message: %+v", reply)
			}
			if tt.code != 0 {
				if reply.Payload != "" || reply.Len != 0 {
					t.Fatalf("error reply with payload: %+v", reply)
				}
				return
			}
			p, err := protocol.OpenRegisterPayload(testSecret, reply.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if p.EncryptionType != protocol.RegisterEncryptionKey || p.PSK != dynregtest.PSK {
				t.Fatalf("payload %+v", p)
			}
		})
	}
	if !strings.Contains(e.logs.String(), "dynamic registration refused") {
		t.Fatal("refusals not logged")
	}
}

func TestUnknownProductLooksLikeBadSignature(t *testing.T) {
	e := newRegEnv(t, dynreg.Config{IPRate: rate.Inf})
	ts := regNow.Unix()
	unknown := e.postOld(t, oldBody("ZZZZZZZZZZ", "dev1", 1, ts, testSecret))
	badSig := e.postOld(t, oldBody(testPID, "dev1", 2, ts, "wrongwrongwrongwrong"))
	if unknown.Code != badSig.Code || unknown.Message != badSig.Message {
		t.Fatalf("unknown product %+v differs from bad signature %+v", unknown, badSig)
	}
	unknownNew := e.postNew(t, registerNewRequest(t, "ZZZZZZZZZZ", "dev1", "h", 3, ts, testSecret, "hmacsha256"))
	badSigNew := e.postNew(t, registerNewRequest(t, testPID, "dev1", "h", 4, ts, "wrongwrongwrongwrong", "hmacsha256"))
	if *unknownNew.Error != *badSigNew.Error {
		t.Fatalf("unknown product %+v differs from bad signature %+v", unknownNew.Error, badSigNew.Error)
	}
	// Disabled products are revealed only to holders of the secret.
	offBadSig := e.postOld(t, oldBody(offPID, "dev1", 5, ts, "wrongwrongwrongwrong"))
	if offBadSig.Code != badSig.Code {
		t.Fatalf("disabled product with bad signature: %+v", offBadSig)
	}
}

func TestRegisterNew(t *testing.T) {
	ts := regNow.Unix()
	tests := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		code   string
		cert   bool
		secret string
	}{
		{"sha256", func(t *testing.T) *http.Request {
			return registerNewRequest(t, testPID, "n1", "example.com", 1, ts, testSecret, "hmacsha256")
		}, "", false, testSecret},
		{"sha1 any case", func(t *testing.T) *http.Request {
			return registerNewRequest(t, testPID, "n2", "example.com", 2, ts, testSecret, "HmacSha1")
		}, "", false, testSecret},
		{"host with port signed without", func(t *testing.T) *http.Request {
			r := registerNewRequest(t, testPID, "n3", "example.com", 3, ts, testSecret, "hmacsha256")
			r.Host = "example.com:8080"
			return r
		}, "", false, testSecret},
		{"certificate product", func(t *testing.T) *http.Request {
			return registerNewRequest(t, certPID, "c1", "example.com", 4, ts, testSecret, "hmacsha256")
		}, "", true, testSecret},
		{"other host", func(t *testing.T) *http.Request {
			r := registerNewRequest(t, testPID, "n4", "example.com", 5, ts, testSecret, "hmacsha256")
			r.Host = "evil.example"
			return r
		}, "AuthFailure.SignatureFailure", false, ""},
		{"unsupported algorithm", func(t *testing.T) *http.Request {
			r := registerNewRequest(t, testPID, "n5", "example.com", 6, ts, testSecret, "hmacsha256")
			r.Header.Set(protocol.HeaderAlgorithm, "md5")
			return r
		}, "AuthFailure.SignatureFailure", false, ""},
		{"missing header", func(t *testing.T) *http.Request {
			r := registerNewRequest(t, testPID, "n6", "example.com", 7, ts, testSecret, "hmacsha256")
			r.Header.Del(protocol.HeaderNonce)
			return r
		}, "InvalidParameterValue", false, ""},
		{"expired", func(t *testing.T) *http.Request {
			return registerNewRequest(t, testPID, "n7", "example.com", 8, ts-600, testSecret, "hmacsha256")
		}, "AuthFailure.SignatureExpire", false, ""},
		{"pre-created unknown", func(t *testing.T) *http.Request {
			return registerNewRequest(t, prePID, "third", "example.com", 9, ts, testSecret, "hmacsha256")
		}, "ResourceNotFound.DeviceNotExist", false, ""},
		{"body too large", func(t *testing.T) *http.Request {
			r := registerNewRequest(t, testPID, "n8", "example.com", 10, ts, testSecret, "hmacsha256")
			r.Body = io.NopCloser(strings.NewReader(`{"ProductId":"` + strings.Repeat("A", 5000) + `"}`))
			return r
		}, "InvalidParameterValue", false, ""},
	}
	e := newRegEnv(t, dynreg.Config{IPRate: rate.Inf})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.postNew(t, tt.req(t))
			if resp.RequestID == "" {
				t.Fatal("no request id")
			}
			if tt.code != "" {
				if resp.Error == nil || resp.Error.Code != tt.code {
					t.Fatalf("error %+v, want %s", resp.Error, tt.code)
				}
				if resp.Payload != "" {
					t.Fatal("error reply with payload")
				}
				return
			}
			if resp.Error != nil {
				t.Fatalf("error %+v", resp.Error)
			}
			p, err := protocol.OpenRegisterPayload(tt.secret, resp.Payload)
			if err != nil {
				t.Fatal(err)
			}
			plain, _ := protocol.DecryptRegisterPayload(tt.secret, resp.Payload)
			if resp.Len != len(plain) {
				t.Fatalf("Len %d, plaintext %d bytes", resp.Len, len(plain))
			}
			if tt.cert {
				if p.EncryptionType != protocol.RegisterEncryptionCert || !strings.Contains(p.ClientCert, "BEGIN CERTIFICATE") || p.ClientKey == "" || p.PSK != "" {
					t.Fatalf("payload %+v", p)
				}
			} else if p.EncryptionType != protocol.RegisterEncryptionKey || p.PSK == "" {
				t.Fatalf("payload %+v", p)
			}
		})
	}
}

func TestRegisterLimit(t *testing.T) {
	e := newRegEnv(t, dynreg.Config{IPRate: rate.Inf})
	e.products.AddProduct("LIM0000001", dynreg.Settings{Type: dynreg.ModeAutoCreate, Limit: 1, ProductSecret: testSecret, EncryptionType: dynreg.EncryptionKey}, nil)
	ts := regNow.Unix()
	if r := e.postOld(t, oldBody("LIM0000001", "a", 1, ts, testSecret)); r.Code != 0 {
		t.Fatalf("first: %+v", r)
	}
	if r := e.postOld(t, oldBody("LIM0000001", "b", 2, ts, testSecret)); r.Code != 1011 {
		t.Fatalf("second: %+v", r)
	}
}

func TestNonceReplay(t *testing.T) {
	e := newRegEnv(t, dynreg.Config{IPRate: rate.Inf})
	ts := regNow.Unix()
	body := oldBody(testPID, "dev1", 77, ts, testSecret)
	if r := e.postOld(t, body); r.Code != 0 {
		t.Fatalf("first: %+v", r)
	}
	if r := e.postOld(t, body); r.Code != 1004 {
		t.Fatalf("replay: %+v", r)
	}
	// The same nonce on another product is a different key.
	if r := e.postOld(t, oldBody(certPID, "dev1", 77, ts, testSecret)); r.Code != 0 {
		t.Fatalf("other product: %+v", r)
	}
	// A bad-signature request does not burn a nonce.
	if r := e.postOld(t, oldBody(testPID, "dev2", 78, ts, "wrongwrongwrongwrong")); r.Code != 1002 {
		t.Fatalf("bad signature: %+v", r)
	}
	if r := e.postOld(t, oldBody(testPID, "dev2", 78, ts, testSecret)); r.Code != 0 {
		t.Fatalf("after bad signature: %+v", r)
	}
	// New API replay.
	mk := func() *http.Request {
		return registerNewRequest(t, testPID, "dev3", "h", 79, ts, testSecret, "hmacsha256")
	}
	if r := e.postNew(t, mk()); r.Error != nil {
		t.Fatalf("first new: %+v", r.Error)
	}
	if r := e.postNew(t, mk()); r.Error == nil || r.Error.Code != "AuthFailure.InvalidNonce" {
		t.Fatalf("replay new: %+v", r.Error)
	}
}

func TestRateLimits(t *testing.T) {
	ts := regNow.Unix()
	t.Run("per ip", func(t *testing.T) {
		e := newRegEnv(t, dynreg.Config{IPRate: 0.001, IPBurst: 2})
		for i := range 2 {
			if r := e.postOld(t, oldBody(testPID, "d", int64(i), ts, testSecret)); r.Code != 0 {
				t.Fatalf("request %d: %+v", i, r)
			}
		}
		if r := e.postOld(t, oldBody(testPID, "d", 9, ts, testSecret)); r.Code != 1005 {
			t.Fatalf("third: %+v", r)
		}
	})
	t.Run("per product", func(t *testing.T) {
		e := newRegEnv(t, dynreg.Config{IPRate: rate.Inf, ProductRate: 0.001, ProductBurst: 1})
		if r := e.postOld(t, oldBody(testPID, "d", 1, ts, testSecret)); r.Code != 0 {
			t.Fatalf("first: %+v", r)
		}
		if r := e.postOld(t, oldBody(testPID, "d", 2, ts, testSecret)); r.Code != 1005 {
			t.Fatalf("second: %+v", r)
		}
		if r := e.postOld(t, oldBody(certPID, "d", 3, ts, testSecret)); r.Code != 0 {
			t.Fatalf("other product: %+v", r)
		}
	})
}

func TestInternalErrors(t *testing.T) {
	e := newRegEnv(t, dynreg.Config{IPRate: rate.Inf})
	e.products.Fail(errStoreDown)
	r := e.postOld(t, oldBody(testPID, "d", 1, regNow.Unix(), testSecret))
	if r.Code != 1500 {
		t.Fatalf("store down: %+v", r)
	}
	if strings.Contains(r.Message, "store down") {
		t.Fatalf("internal detail leaked: %q", r.Message)
	}
	if !strings.Contains(e.logs.String(), "store down") {
		t.Fatal("internal error not logged")
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newRegEnv(t, dynreg.Config{})
	for _, path := range []string{protocol.PathRegisterOld, protocol.PathRegisterNew} {
		w := httptest.NewRecorder()
		e.svc.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusMethodNotAllowed {
			t.Fatalf("%s: status %d", path, w.Code)
		}
	}
}

func FuzzRegisterOld(f *testing.F) {
	f.Add([]byte(recordedOldBody))
	f.Add([]byte(`{"deviceName":"x","nonce":"1","productId":"AB12CD34EF","timestamp":1795627951,"signature":"AA=="}`))
	p := dynregtest.NewProducts()
	p.AddProduct(testPID, dynreg.Settings{Type: dynreg.ModeAutoCreate, ProductSecret: testSecret, EncryptionType: dynreg.EncryptionKey}, nil)
	svc := NewRegisterHandler(dynreg.New(p, dynreg.Config{IPRate: rate.Inf, ProductRate: rate.Inf,
		Now: func() time.Time { return regNow }}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		svc.RegisterOld(w, httptest.NewRequest(http.MethodPost, protocol.PathRegisterOld, bytes.NewReader(body)))
		var reply protocol.OldRegisterReply
		if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil {
			t.Fatalf("reply %q is not JSON: %v", w.Body, err)
		}
	})
}

// TestRegisterMount checks that Server.Mount serves a RegisterHandler at
// both registration paths.
func TestRegisterMount(t *testing.T) {
	e := newRegEnv(t, dynreg.Config{IPRate: rate.Inf})
	mux := http.NewServeMux()
	New(Config{}).Mount(mux, e.svc)
	ts := regNow.Unix()
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, protocol.PathRegisterOld,
		strings.NewReader(oldBody(testPID, "m1", 1, ts, testSecret))))
	var old protocol.OldRegisterReply
	if err := json.Unmarshal(w.Body.Bytes(), &old); err != nil || old.Code != 0 {
		t.Fatalf("old API: %s (%v)", w.Body, err)
	}
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, registerNewRequest(t, testPID, "m2", "example.com", 2, ts, testSecret, "hmacsha256"))
	var reply protocol.NewRegisterReply
	if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil || reply.Response.Error != nil || reply.Response.Payload == "" {
		t.Fatalf("new API: %s (%v)", w.Body, err)
	}
}

// TestRegisterMaxBody checks that the handler takes its body limit from
// the service's configuration.
func TestRegisterMaxBody(t *testing.T) {
	ts := regNow.Unix()
	body := oldBody(testPID, "dev1", 1, ts, testSecret)
	tests := []struct {
		name    string
		maxBody int64
		code    int
	}{
		{"fits", int64(len(body)), 0},
		{"one byte over", int64(len(body)) - 1, 1001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRegEnv(t, dynreg.Config{IPRate: rate.Inf, MaxBody: tt.maxBody})
			if r := e.postOld(t, body); r.Code != tt.code {
				t.Fatalf("code %d (%s), want %d", r.Code, r.Message, tt.code)
			}
		})
	}
}
