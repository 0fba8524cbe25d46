package dynreg

import (
	"bytes"
	"encoding/json"
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

var testNow = time.Unix(1795627951, 0)

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

type env struct {
	svc      *Service
	products *fakeProducts
	logs     *syncBuffer
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	p := newFakeProducts()
	p.addProduct(testPID, Settings{Type: ModeAutoCreate, ProductSecret: testSecret, EncryptionType: EncryptionKey}, nil)
	p.addProduct(prePID, Settings{Type: ModePreCreated, Limit: 2, ProductSecret: testSecret, EncryptionType: EncryptionKey},
		map[string]bool{"known": false, "active": true})
	p.addProduct(certPID, Settings{Type: ModeAutoCreate, ProductSecret: testSecret, EncryptionType: EncryptionCert}, nil)
	p.addProduct(offPID, Settings{Type: ModeOff, ProductSecret: testSecret, EncryptionType: EncryptionKey}, nil)
	p.addProduct(rereg, Settings{Type: ModePreCreated, AllowReregister: true, ProductSecret: testSecret, EncryptionType: EncryptionKey},
		map[string]bool{"active": true})
	p.addProduct(brokenPID, Settings{Type: ModeAutoCreate, ProductSecret: testSecret, EncryptionType: "broken"}, nil)
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	logs := &syncBuffer{}
	return &env{svc: New(p, slog.New(slog.NewTextHandler(logs, nil)), cfg), products: p, logs: logs}
}

func oldBody(pid, dn string, nonce, ts int64, secret string) string {
	r := protocol.OldRegisterRequest{DeviceName: dn, Nonce: nonce, ProductID: pid, Timestamp: ts}
	r.Signature = protocol.SignOldRegister(secret, r)
	b, _ := json.Marshal(r)
	return string(b)
}

func (e *env) postOld(t *testing.T, body string) protocol.OldRegisterReply {
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

func newRequest(t *testing.T, pid, dn, host string, nonce, ts int64, secret, algo string) *http.Request {
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

func (e *env) postNew(t *testing.T, r *http.Request) protocol.NewRegisterResponse {
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
	e := newEnv(t, Config{})
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
	e := newEnv(t, Config{})
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
	ts := testNow.Unix()
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
	e := newEnv(t, Config{IPRate: rate.Inf})
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
			if p.EncryptionType != protocol.RegisterEncryptionKey || p.PSK != "MDEyMzQ1Njc4OWFiY2RlZg==" {
				t.Fatalf("payload %+v", p)
			}
		})
	}
	if !strings.Contains(e.logs.String(), "dynamic registration refused") {
		t.Fatal("refusals not logged")
	}
}

func TestUnknownProductLooksLikeBadSignature(t *testing.T) {
	e := newEnv(t, Config{IPRate: rate.Inf})
	ts := testNow.Unix()
	unknown := e.postOld(t, oldBody("ZZZZZZZZZZ", "dev1", 1, ts, testSecret))
	badSig := e.postOld(t, oldBody(testPID, "dev1", 2, ts, "wrongwrongwrongwrong"))
	if unknown.Code != badSig.Code || unknown.Message != badSig.Message {
		t.Fatalf("unknown product %+v differs from bad signature %+v", unknown, badSig)
	}
	unknownNew := e.postNew(t, newRequest(t, "ZZZZZZZZZZ", "dev1", "h", 3, ts, testSecret, "hmacsha256"))
	badSigNew := e.postNew(t, newRequest(t, testPID, "dev1", "h", 4, ts, "wrongwrongwrongwrong", "hmacsha256"))
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
	ts := testNow.Unix()
	tests := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		code   string
		cert   bool
		secret string
	}{
		{"sha256", func(t *testing.T) *http.Request {
			return newRequest(t, testPID, "n1", "example.com", 1, ts, testSecret, "hmacsha256")
		}, "", false, testSecret},
		{"sha1 any case", func(t *testing.T) *http.Request {
			return newRequest(t, testPID, "n2", "example.com", 2, ts, testSecret, "HmacSha1")
		}, "", false, testSecret},
		{"host with port signed without", func(t *testing.T) *http.Request {
			r := newRequest(t, testPID, "n3", "example.com", 3, ts, testSecret, "hmacsha256")
			r.Host = "example.com:8080"
			return r
		}, "", false, testSecret},
		{"certificate product", func(t *testing.T) *http.Request {
			return newRequest(t, certPID, "c1", "example.com", 4, ts, testSecret, "hmacsha256")
		}, "", true, testSecret},
		{"other host", func(t *testing.T) *http.Request {
			r := newRequest(t, testPID, "n4", "example.com", 5, ts, testSecret, "hmacsha256")
			r.Host = "evil.example"
			return r
		}, "AuthFailure.SignatureFailure", false, ""},
		{"unsupported algorithm", func(t *testing.T) *http.Request {
			r := newRequest(t, testPID, "n5", "example.com", 6, ts, testSecret, "hmacsha256")
			r.Header.Set(protocol.HeaderAlgorithm, "md5")
			return r
		}, "AuthFailure.SignatureFailure", false, ""},
		{"missing header", func(t *testing.T) *http.Request {
			r := newRequest(t, testPID, "n6", "example.com", 7, ts, testSecret, "hmacsha256")
			r.Header.Del(protocol.HeaderNonce)
			return r
		}, "InvalidParameterValue", false, ""},
		{"expired", func(t *testing.T) *http.Request {
			return newRequest(t, testPID, "n7", "example.com", 8, ts-600, testSecret, "hmacsha256")
		}, "AuthFailure.SignatureExpire", false, ""},
		{"pre-created unknown", func(t *testing.T) *http.Request {
			return newRequest(t, prePID, "third", "example.com", 9, ts, testSecret, "hmacsha256")
		}, "ResourceNotFound.DeviceNotExist", false, ""},
		{"body too large", func(t *testing.T) *http.Request {
			r := newRequest(t, testPID, "n8", "example.com", 10, ts, testSecret, "hmacsha256")
			r.Body = io.NopCloser(strings.NewReader(`{"ProductId":"` + strings.Repeat("A", 5000) + `"}`))
			return r
		}, "InvalidParameterValue", false, ""},
	}
	e := newEnv(t, Config{IPRate: rate.Inf})
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
	e := newEnv(t, Config{IPRate: rate.Inf})
	e.products.addProduct("LIM0000001", Settings{Type: ModeAutoCreate, Limit: 1, ProductSecret: testSecret, EncryptionType: EncryptionKey}, nil)
	ts := testNow.Unix()
	if r := e.postOld(t, oldBody("LIM0000001", "a", 1, ts, testSecret)); r.Code != 0 {
		t.Fatalf("first: %+v", r)
	}
	if r := e.postOld(t, oldBody("LIM0000001", "b", 2, ts, testSecret)); r.Code != 1011 {
		t.Fatalf("second: %+v", r)
	}
}

func TestNonceReplay(t *testing.T) {
	e := newEnv(t, Config{IPRate: rate.Inf})
	ts := testNow.Unix()
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
	mk := func() *http.Request { return newRequest(t, testPID, "dev3", "h", 79, ts, testSecret, "hmacsha256") }
	if r := e.postNew(t, mk()); r.Error != nil {
		t.Fatalf("first new: %+v", r.Error)
	}
	if r := e.postNew(t, mk()); r.Error == nil || r.Error.Code != "AuthFailure.InvalidNonce" {
		t.Fatalf("replay new: %+v", r.Error)
	}
}

func TestRateLimits(t *testing.T) {
	ts := testNow.Unix()
	t.Run("per ip", func(t *testing.T) {
		e := newEnv(t, Config{IPRate: 0.001, IPBurst: 2})
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
		e := newEnv(t, Config{IPRate: rate.Inf, ProductRate: 0.001, ProductBurst: 1})
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
	e := newEnv(t, Config{IPRate: rate.Inf})
	e.products.fail = errStoreDown
	r := e.postOld(t, oldBody(testPID, "d", 1, testNow.Unix(), testSecret))
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
	e := newEnv(t, Config{})
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
	p := newFakeProducts()
	p.addProduct(testPID, Settings{Type: ModeAutoCreate, ProductSecret: testSecret, EncryptionType: EncryptionKey}, nil)
	svc := New(p, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{IPRate: rate.Inf, ProductRate: rate.Inf,
		Now: func() time.Time { return testNow }})
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		svc.RegisterOld(w, httptest.NewRequest(http.MethodPost, protocol.PathRegisterOld, bytes.NewReader(body)))
		var reply protocol.OldRegisterReply
		if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil {
			t.Fatalf("reply %q is not JSON: %v", w.Body, err)
		}
	})
}
