package devicehttp

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/registry/registrytest"
	"github.com/thingo-iot/thingo/internal/secretbox"
	"github.com/thingo-iot/thingo/protocol"
)

var testNow = time.Unix(1795627233, 0)

type uplink struct {
	id      devauth.Identity
	topic   string
	payload string
}

type recorder struct {
	mu      sync.Mutex
	uplinks []uplink
	lines   map[string][]protocol.LogLine
}

func (r *recorder) HandleUplink(_ context.Context, id devauth.Identity, topic string, payload []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.uplinks = append(r.uplinks, uplink{id, topic, string(payload)})
}

func (r *recorder) Append(_ context.Context, pid, dn string, lines []protocol.LogLine) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lines == nil {
		r.lines = map[string][]protocol.LogLine{}
	}
	r.lines[pid+"/"+dn] = append(r.lines[pid+"/"+dn], lines...)
	return nil
}

type env struct {
	srv     *Server
	rec     *recorder
	reg     *registry.Service
	keyPID  string
	psk     string
	disPSK  string
	certPID string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	box, err := secretbox.New(make([]byte, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.NewService(registrytest.NewStore(), box, nil, nil)
	prj, err := reg.CreateProject(ctx, registry.ProjectInput{Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{rec: &recorder{}, reg: reg}
	for _, enc := range []string{registry.EncryptionKey, registry.EncryptionCert} {
		p, err := reg.CreateProduct(ctx, registry.ProductInput{ProjectID: prj.ID, Name: "lamp" + enc, CategoryID: 1,
			EncryptionType: enc, NetType: "wifi", DataProtocol: 1})
		if err != nil {
			t.Fatal(err)
		}
		if enc == registry.EncryptionKey {
			e.keyPID = p.ID
		} else {
			e.certPID = p.ID
		}
	}
	d, err := reg.CreateDevice(ctx, e.keyPID, "dev1", "")
	if err != nil {
		t.Fatal(err)
	}
	e.psk = d.PSK
	d, err = reg.CreateDevice(ctx, e.keyPID, "off", "")
	if err != nil {
		t.Fatal(err)
	}
	e.disPSK = d.PSK
	if err := reg.SetDeviceEnabled(ctx, e.keyPID, "off", registry.Disabled); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.CreateTopicPolicy(ctx, e.keyPID, "data", registry.PrivilegePublish); err != nil {
		t.Fatal(err)
	}
	e.srv = New(Config{Devices: reg, Uplinks: e.rec, Logs: e.rec, Now: func() time.Time { return testNow }})
	return e
}

func (e *env) handler() http.Handler {
	mux := http.NewServeMux()
	e.srv.Mount(mux, nil)
	return mux
}

// publishRequest builds a signed /device/publish request.
func publishRequest(t testing.TB, secret string, body []byte, ts time.Time, nonce int) *http.Request {
	t.Helper()
	p := protocol.HTTPSignParams{
		Method: http.MethodPost, Host: "devices.example.com", Path: protocol.PathDevicePublish,
		Algorithm: "HmacSha256", Timestamp: strconv.FormatInt(ts.Unix(), 10), Nonce: strconv.Itoa(nonce), Body: body,
	}
	sig, err := protocol.SignHTTP(secret, p)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "http://devices.example.com"+protocol.PathDevicePublish, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	p.SetHeaders(r.Header, sig)
	return r
}

func publishBody(pid, dn, topic, payload string) []byte {
	b, _ := json.Marshal(protocol.PublishRequest{ProductID: pid, DeviceName: dn, TopicName: topic, Payload: payload})
	return b
}

func errorCode(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var rep protocol.NewRegisterReply
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		t.Fatalf("reply %q: %v", w.Body.String(), err)
	}
	if rep.Response.RequestID == "" {
		t.Errorf("reply without RequestId: %s", w.Body.String())
	}
	if rep.Response.Error == nil {
		return ""
	}
	return rep.Response.Error.Code
}

func TestPublish(t *testing.T) {
	e := newEnv(t)
	h := e.handler()
	data := e.keyPID + "/dev1/data"
	thingUp := "$thing/up/property/" + e.keyPID + "/dev1"
	tests := []struct {
		name string
		req  func() *http.Request
		code string
	}{
		{"custom topic", func() *http.Request {
			return publishRequest(t, e.psk, publishBody(e.keyPID, "dev1", data, "hello"), testNow, 1)
		}, ""},
		{"thing topic", func() *http.Request {
			return publishRequest(t, e.psk, publishBody(e.keyPID, "dev1", thingUp, `{"method":"report"}`), testNow.Add(-time.Minute), 2)
		}, ""},
		{"replayed nonce", func() *http.Request {
			return publishRequest(t, e.psk, publishBody(e.keyPID, "dev1", data, "hello"), testNow, 1)
		}, "AuthFailure.InvalidNonce"},
		{"old timestamp", func() *http.Request {
			return publishRequest(t, e.psk, publishBody(e.keyPID, "dev1", data, "x"), testNow.Add(-6*time.Minute), 3)
		}, "AuthFailure.SignatureExpire"},
		{"wrong secret", func() *http.Request {
			return publishRequest(t, "d3Jvbmc=", publishBody(e.keyPID, "dev1", data, "x"), testNow, 4)
		}, "AuthFailure.SignatureFailure"},
		{"unknown device", func() *http.Request {
			return publishRequest(t, e.psk, publishBody(e.keyPID, "nobody", data, "x"), testNow, 5)
		}, "AuthFailure.SignatureFailure"},
		{"other device's topic", func() *http.Request {
			return publishRequest(t, e.psk, publishBody(e.keyPID, "dev1", e.keyPID+"/off/data", "x"), testNow, 6)
		}, "UnauthorizedOperation.TopicNotAllowed"},
		{"undeclared topic", func() *http.Request {
			return publishRequest(t, e.psk, publishBody(e.keyPID, "dev1", e.keyPID+"/dev1/other", "x"), testNow, 7)
		}, "UnauthorizedOperation.TopicNotAllowed"},
		{"disabled device", func() *http.Request {
			return publishRequest(t, e.disPSK, publishBody(e.keyPID, "off", e.keyPID+"/off/data", "x"), testNow, 8)
		}, "UnauthorizedOperation.DeviceDisabled"},
		{"malformed body", func() *http.Request {
			return publishRequest(t, e.psk, []byte(`{"ProductId":`), testNow, 9)
		}, "InvalidParameterValue"},
		{"missing headers", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, protocol.PathDevicePublish,
				bytes.NewReader(publishBody(e.keyPID, "dev1", data, "x")))
		}, "InvalidParameterValue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tc.req())
			if got := errorCode(t, w); got != tc.code {
				t.Errorf("code = %q, want %q (%s)", got, tc.code, w.Body.String())
			}
		})
	}
	if len(e.rec.uplinks) != 2 {
		t.Fatalf("uplinks = %+v, want 2", e.rec.uplinks)
	}
	u := e.rec.uplinks[0]
	if u.topic != data || u.payload != "hello" || u.id.ProductID != e.keyPID || u.id.DeviceName != "dev1" || u.id.ACL == nil {
		t.Errorf("uplink = %+v", u)
	}

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, protocol.PathDevicePublish, nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET status = %d", w.Code)
	}
}

func logBody(t testing.TB, key, pid, dn string, auth byte, lines ...string) []byte {
	t.Helper()
	u := protocol.LogUpload{Auth: auth, ProductID: pid, DeviceName: dn, Time: testNow.Unix()}
	for _, l := range lines {
		u.Lines = append(u.Lines, protocol.ParseLogLine(l))
	}
	b, err := protocol.BuildLogUpload(key, u)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReportLog(t *testing.T) {
	e := newEnv(t)
	h := e.handler()
	line := "ERR|2026-11-25 10:00:00|mqtt_client.c|connect(120): connect failed"
	good := logBody(t, protocol.LogSignKey(e.psk), e.keyPID, "dev1", protocol.LogAuthKey, line, "free text")
	tampered := bytes.Clone(good)
	tampered[len(tampered)-3] ^= 1
	tests := []struct {
		name string
		body []byte
		ok   bool
	}{
		{"good", good, true},
		{"tampered", tampered, false},
		{"wrong key", logBody(t, "wrongwrongwrongwrongwron", e.keyPID, "dev1", protocol.LogAuthKey, line), false},
		{"unknown device", logBody(t, protocol.LogSignKey(e.psk), e.keyPID, "nobody", protocol.LogAuthKey, line), false},
		{"cert marker on key device", logBody(t, protocol.LogSignKey(e.psk), e.keyPID, "dev1", protocol.LogAuthCert, line), false},
		{"disabled", logBody(t, protocol.LogSignKey(e.disPSK), e.keyPID, "off", protocol.LogAuthKey, line), false},
		{"short", []byte("abc"), false},
		{"too large", append(bytes.Clone(good), bytes.Repeat([]byte("x"), protocol.DefaultMaxLogBody)...), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, protocol.PathReportLog, bytes.NewReader(tc.body))
			r.Header.Set("Content-Type", "text/plain;charset=utf-8")
			h.ServeHTTP(w, r)
			var rep logReply
			if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
				t.Fatalf("reply %q: %v", w.Body.String(), err)
			}
			if (rep.Retcode == 0) != tc.ok {
				t.Errorf("reply %s, want ok=%v", w.Body.String(), tc.ok)
			}
			if tc.ok && strings.TrimSpace(w.Body.String()) != protocol.LogUploadReply {
				t.Errorf("reply %q, want %q", w.Body.String(), protocol.LogUploadReply)
			}
		})
	}
	got := e.rec.lines[e.keyPID+"/dev1"]
	if len(got) != 2 || got[0].String() != line || got[1].Message != "free text" {
		t.Errorf("stored lines = %+v", got)
	}
	if len(e.rec.lines) != 1 {
		t.Errorf("lines stored for refused uploads: %v", e.rec.lines)
	}
}

func FuzzPublish(f *testing.F) {
	e := newEnv(f)
	h := e.handler()
	f.Add(publishBody(e.keyPID, "dev1", e.keyPID+"/dev1/data", "x"), "1795627233", "1", "AAAA")
	f.Add([]byte(`{"ProductId":"","Qos":2}`), "x", "-1", "")
	f.Fuzz(func(t *testing.T, body []byte, ts, nonce, sig string) {
		r := httptest.NewRequest(http.MethodPost, protocol.PathDevicePublish, bytes.NewReader(body))
		r.Header.Set(protocol.HeaderAlgorithm, "hmacsha256")
		r.Header.Set(protocol.HeaderTimestamp, ts)
		r.Header.Set(protocol.HeaderNonce, nonce)
		r.Header.Set(protocol.HeaderSignature, sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if code := errorCode(t, w); code == "" || code == "InternalError" {
			t.Fatalf("unsigned request answered %q: %s", code, w.Body.String())
		}
	})
}

func FuzzReportLog(f *testing.F) {
	e := newEnv(f)
	h := e.handler()
	f.Add(logBody(f, protocol.LogSignKey(e.psk), e.keyPID, "dev1", protocol.LogAuthKey, "INF|2026-11-25 10:00:00|a.c|f(1): m"))
	f.Add([]byte("0000000000000000000000000000000000000000P###"))
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, protocol.PathReportLog, bytes.NewReader(body)))
		var rep logReply
		if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
			t.Fatalf("reply %q: %v", w.Body.String(), err)
		}
		if rep.Retcode == 0 && protocol.VerifyLogUpload(protocol.LogSignKey(e.psk), body) != nil {
			t.Fatalf("unsigned upload accepted: %q", body)
		}
	})
}
