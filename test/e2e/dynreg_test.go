package e2e

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// The device side of this file is written from PROTOCOL.md §13.3, §13.4
// and §13.9 with the standard library only (no Thingo package), as a
// device SDK would do it.

var testNonce atomic.Int64

func nextNonce() int64 { return 1_000_000 + testNonce.Add(1) }

// regResult is a registration answer in either API's envelope.
type regResult struct {
	oldCode int    // old API
	newCode string // new API ("" on success)
	length  int
	payload string
}

func (r regResult) refused() string {
	if r.newCode != "" {
		return r.newCode
	}
	if r.oldCode != 0 {
		return fmt.Sprint(r.oldCode)
	}
	return ""
}

type rawDevice struct {
	t       *testing.T
	baseURL string // http://127.0.0.1:port
	host    string // 127.0.0.1:port
}

func newRawDevice(t *testing.T, s *server) rawDevice {
	host := s.app.HTTPAddr().String()
	return rawDevice{t: t, baseURL: "http://" + host, host: host}
}

func (d rawDevice) post(path string, header http.Header, body []byte) []byte {
	d.t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.baseURL+path, bytes.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		d.t.Fatalf("POST %s: status %d, %s (%v)", path, res.StatusCode, b, err)
	}
	return b
}

// registerOld is the C SDK's POST /register/dev.
func (d rawDevice) registerOld(pid, secret, dn string, ts, nonce int64) regResult {
	d.t.Helper()
	msg := fmt.Sprintf("deviceName=%s&nonce=%d&productId=%s&timestamp=%d", dn, nonce, pid, ts)
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(msg))
	sig := base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(mac.Sum(nil))))
	body := fmt.Sprintf(`{"deviceName":"%s","nonce":%d,"productId":"%s","timestamp":%d,"signature":"%s"}`, dn, nonce, pid, ts, sig)
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	var rep struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Len     int    `json:"len"`
		Payload string `json:"payload"`
	}
	raw := d.post("/register/dev", h, []byte(body))
	if err := json.Unmarshal(raw, &rep); err != nil {
		d.t.Fatalf("old API reply %s: %v", raw, err)
	}
	return regResult{oldCode: rep.Code, length: rep.Len, payload: rep.Payload}
}

// signNew signs a request the way the Python SDK does.
func signNew(secret, host, path string, ts, nonce int64, body []byte) http.Header {
	sum := sha256.Sum256(body)
	msg := fmt.Sprintf("POST\n%s\n%s\n\n%s\n%d\n%d\n%s", host, path, "hmacsha256", ts, nonce, hex.EncodeToString(sum[:]))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(msg))
	return http.Header{
		"Content-Type":   {"application/json; charset=utf-8"},
		"X-Tc-Algorithm": {"hmacsha256"},
		"X-Tc-Timestamp": {fmt.Sprint(ts)},
		"X-Tc-Nonce":     {fmt.Sprint(nonce)},
		"X-Tc-Signature": {base64.StdEncoding.EncodeToString(mac.Sum(nil))},
	}
}

// registerNew is the Python SDK's POST /device/register.
func (d rawDevice) registerNew(pid, secret, dn string, ts, nonce int64) regResult {
	d.t.Helper()
	body := []byte(fmt.Sprintf(`{"ProductId":"%s","DeviceName":"%s"}`, pid, dn))
	var rep struct {
		Response struct {
			Len     int
			Payload string
			Error   *struct{ Code, Message string }
		}
	}
	raw := d.post("/device/register", signNew(secret, d.host, "/device/register", ts, nonce, body), body)
	if err := json.Unmarshal(raw, &rep); err != nil {
		d.t.Fatalf("new API reply %s: %v", raw, err)
	}
	if rep.Response.Error != nil {
		return regResult{newCode: rep.Response.Error.Code}
	}
	return regResult{length: rep.Response.Len, payload: rep.Response.Payload}
}

// register retries while the per-IP rate limit refuses (all requests of
// the test come from 127.0.0.1).
func register(t *testing.T, f func() regResult) regResult {
	t.Helper()
	var r regResult
	waitFor(t, 30*time.Second, func() error {
		r = f()
		if r.oldCode == 1005 || r.newCode == "RequestLimitExceeded" {
			return fmt.Errorf("rate limited")
		}
		return nil
	})
	return r
}

type credential struct {
	EncryptionType int    `json:"encryptionType"`
	PSK            string `json:"psk"`
	ClientCert     string `json:"clientCert"`
	ClientKey      string `json:"clientKey"`
}

// decrypt opens a registration payload: AES-128-CBC, key = first 16
// bytes of the product secret, IV = 16 '0', zero padding.
func decrypt(t *testing.T, secret string, r regResult) credential {
	t.Helper()
	if r.refused() != "" {
		t.Fatalf("registration refused: %s", r.refused())
	}
	ct, err := base64.StdEncoding.DecodeString(r.payload)
	if err != nil || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		t.Fatalf("payload %q: %v", r.payload, err)
	}
	block, err := aes.NewCipher([]byte(secret[:16]))
	if err != nil {
		t.Fatal(err)
	}
	plain := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, []byte("0000000000000000")).CryptBlocks(plain, ct)
	if r.length <= 0 || r.length > len(plain) || strings.Trim(string(plain[r.length:]), "\x00") != "" || len(plain)-r.length < 1 {
		t.Fatalf("plaintext %q, len %d: not zero padded", plain, r.length)
	}
	var c credential
	if err := json.Unmarshal(plain[:r.length], &c); err != nil {
		t.Fatalf("plaintext %q: %v", plain[:r.length], err)
	}
	return c
}

func (s *server) setDynreg(pid string, typ, limit int) string {
	s.t.Helper()
	var rep struct {
		RegisterType, RegisterLimit int
		ProductSecret               string
	}
	s.mustCall("ModifyProductDynamicRegister", map[string]any{"ProductId": pid, "RegisterType": typ, "RegisterLimit": limit}, &rep)
	if rep.RegisterType != typ || rep.RegisterLimit != limit || len(rep.ProductSecret) < 24 {
		s.t.Fatalf("ModifyProductDynamicRegister = %+v", rep)
	}
	return rep.ProductSecret
}

// publishHTTP is POST /device/publish signed with the device secret.
func (d rawDevice) publishHTTP(pid, dn, psk, topic, payload string) string {
	d.t.Helper()
	body, _ := json.Marshal(map[string]any{"ProductId": pid, "DeviceName": dn, "TopicName": topic, "Payload": payload, "Qos": 0})
	var rep struct {
		Response struct {
			RequestId string
			Error     *struct{ Code, Message string }
		}
	}
	raw := d.post("/device/publish", signNew(psk, d.host, "/device/publish", time.Now().Unix(), nextNonce(), body), body)
	if err := json.Unmarshal(raw, &rep); err != nil || rep.Response.RequestId == "" {
		d.t.Fatalf("publish reply %s: %v", raw, err)
	}
	if rep.Response.Error != nil {
		return rep.Response.Error.Code
	}
	return ""
}

// reportLog is the C SDK's POST /cgi-bin/report-log.
func (d rawDevice) reportLog(pid, dn, psk string, lines ...string) string {
	d.t.Helper()
	var b strings.Builder
	b.WriteString("P###" + pid + dn + strings.Repeat("#", 48-len(dn)))
	fmt.Fprintf(&b, "%010d", time.Now().Unix())
	for _, l := range lines {
		b.WriteString(l + "\n\f")
	}
	mac := hmac.New(sha1.New, []byte(psk[:24]))
	mac.Write([]byte(b.String()))
	body := hex.EncodeToString(mac.Sum(nil)) + b.String()
	return string(d.post("/cgi-bin/report-log", http.Header{"Content-Type": {"text/plain;charset=utf-8"}}, []byte(body)))
}

func TestDynamicRegistration(t *testing.T) {
	s := startServer(t, t.TempDir())
	dev := newRawDevice(t, s)
	now := time.Now().Unix()

	auto := s.newProduct("2")
	autoSecret := s.setDynreg(auto, 2, 3)
	var described struct{ ProductSecret string }
	s.mustCall("DescribeProductDynamicRegister", map[string]any{"ProductId": auto}, &described)
	if described.ProductSecret != autoSecret {
		t.Fatalf("Describe secret %q, Modify secret %q", described.ProductSecret, autoSecret)
	}

	// Old API (C SDK): register, decrypt, connect over MQTT.
	oldNonce := nextNonce()
	oldCred := decrypt(t, autoSecret, register(t, func() regResult { return dev.registerOld(auto, autoSecret, "old1", now, oldNonce) }))
	if oldCred.EncryptionType != 2 || oldCred.PSK == "" {
		t.Fatalf("old API credential %+v", oldCred)
	}
	oldDev := device{ProductID: auto, Name: "old1", PSK: oldCred.PSK}
	mustConnect(t, s.keyOpts(oldDev, "tcp")).Disconnect(50)

	// New API (Python SDK): register, decrypt, connect, publish over HTTP.
	newNonce := nextNonce()
	newCred := decrypt(t, autoSecret, register(t, func() regResult { return dev.registerNew(auto, autoSecret, "new1", now, newNonce) }))
	newDev := device{ProductID: auto, Name: "new1", PSK: newCred.PSK}
	c := mustConnect(t, s.keyOpts(newDev, "tcp"))
	replies := make(chan string, 4)
	down := "$thing/down/property/" + auto + "/new1"
	if tok := c.Subscribe(down, 0, func(_ mqtt.Client, m mqtt.Message) { replies <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	up := "$thing/up/property/" + auto + "/new1"
	if code := dev.publishHTTP(auto, "new1", newCred.PSK, up, `{"method":"get_status","clientToken":"http-1"}`); code != "" {
		t.Fatalf("HTTP publish refused: %s", code)
	}
	select {
	case r := <-replies:
		if !strings.Contains(r, `"get_status_reply"`) || !strings.Contains(r, `"http-1"`) {
			t.Errorf("reply to the HTTP publish: %s", r)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no reply to the message published over HTTP")
	}
	if code := dev.publishHTTP(auto, "new1", newCred.PSK, "$thing/up/property/"+auto+"/old1", `{}`); code != "UnauthorizedOperation.TopicNotAllowed" {
		t.Errorf("publish on another device's topic: %q", code)
	}
	if code := dev.publishHTTP(auto, "new1", oldCred.PSK, up, `{}`); code != "AuthFailure.SignatureFailure" {
		t.Errorf("publish signed with another device's secret: %q", code)
	}

	// Log upload, read back through the API.
	line := "ERR|2026-11-25 10:00:00|mqtt_client.c|IOT_MQTT_Construct(120): connect failed"
	if got := dev.reportLog(auto, "new1", newCred.PSK, line, "INF|2026-11-25 10:00:01|a.c|main(7): ok"); got != `{"Retcode":0}` {
		t.Fatalf("report-log reply %s", got)
	}
	if got := dev.reportLog(auto, "new1", oldCred.PSK, "forged"); !strings.Contains(got, `"Retcode":-1`) {
		t.Errorf("report-log with another device's key: %s", got)
	}
	var logs struct {
		Total int
		Logs  []struct {
			Content, Level, DeviceTime string
			Time                       int64
		}
	}
	s.mustCall("DescribeDeviceLogs", map[string]any{"ProductId": auto, "DeviceName": "new1"}, &logs)
	if logs.Total != 2 || len(logs.Logs) != 2 || logs.Logs[1].Content != line || logs.Logs[1].Level != "ERR" || logs.Logs[1].Time == 0 {
		t.Errorf("DescribeDeviceLogs = %+v", logs)
	}

	// Certificate product: a certificate and key that connect over TLS.
	certPID := s.newProduct("1")
	certSecret := s.setDynreg(certPID, 2, 0)
	cc := decrypt(t, certSecret, register(t, func() regResult { return dev.registerNew(certPID, certSecret, "c1", now, nextNonce()) }))
	if cc.EncryptionType != 1 || cc.ClientCert == "" || cc.ClientKey == "" {
		t.Fatalf("certificate credential %+v", cc)
	}
	pair, err := tls.X509KeyPair([]byte(cc.ClientCert), []byte(cc.ClientKey))
	if err != nil {
		t.Fatal(err)
	}
	o := s.baseOpts("tls").SetClientID(certPID + "c1").SetUsername(certPID + "c1;12010126;abcde;4102444800").SetTLSConfig(s.tlsConfig(&pair))
	mustConnect(t, o).Disconnect(50)

	// Pre-created mode: a known name gets its secret, an unknown one is refused.
	pre := s.newProduct("2")
	preSecret := s.setDynreg(pre, 1, 0)
	known := s.newDevice(pre, "known")
	kc := decrypt(t, preSecret, register(t, func() regResult { return dev.registerOld(pre, preSecret, "known", now, nextNonce()) }))
	if kc.PSK != known.PSK {
		t.Errorf("pre-created device got psk %q, created with %q", kc.PSK, known.PSK)
	}

	off := s.newProduct("2")
	offSecret := s.setDynreg(off, 0, 0)

	// Refusals: each a specific code in the API's envelope, no device made.
	tests := []struct {
		name string
		do   func() regResult
		want string
	}{
		{"old: bad signature", func() regResult { return dev.registerOld(auto, "wrongwrongwrongwrongwron", "x1", now, nextNonce()) }, "1002"},
		{"new: bad signature", func() regResult { return dev.registerNew(auto, "wrongwrongwrongwrongwron", "x1", now, nextNonce()) }, "AuthFailure.SignatureFailure"},
		{"new: unknown product", func() regResult { return dev.registerNew("NOPRODUCT0", autoSecret, "x1", now, nextNonce()) }, "AuthFailure.SignatureFailure"},
		{"old: stale timestamp", func() regResult { return dev.registerOld(auto, autoSecret, "x1", now-600, nextNonce()) }, "1003"},
		{"new: future timestamp", func() regResult { return dev.registerNew(auto, autoSecret, "x1", now+600, nextNonce()) }, "AuthFailure.SignatureExpire"},
		{"old: replayed nonce", func() regResult { return dev.registerOld(auto, autoSecret, "x1", now, oldNonce) }, "1004"},
		{"new: replayed nonce", func() regResult { return dev.registerNew(auto, autoSecret, "x1", now, newNonce) }, "AuthFailure.InvalidNonce"},
		{"old: registration off", func() regResult { return dev.registerOld(off, offSecret, "x1", now, nextNonce()) }, "1010"},
		{"new: pre-created, unknown name", func() regResult { return dev.registerNew(pre, preSecret, "x1", now, nextNonce()) }, "ResourceNotFound.DeviceNotExist"},
		{"old: already active", func() regResult { return dev.registerOld(auto, autoSecret, "old1", now, nextNonce()) }, "1021"},
		{"new: already active", func() regResult { return dev.registerNew(auto, autoSecret, "new1", now, nextNonce()) }, "FailedOperation.DeviceAlreadyActivated"},
		{"old: bad name", func() regResult { return dev.registerOld(auto, autoSecret, "bad/name", now, nextNonce()) }, "1001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := register(t, tc.do).refused(); got != tc.want {
				t.Errorf("refused with %q, want %q", got, tc.want)
			}
		})
	}
	var list struct{ Total int }
	s.mustCall("GetDeviceList", map[string]any{"ProductId": auto}, &list)
	if list.Total != 2 {
		t.Errorf("auto product has %d devices after the refusals, want 2", list.Total)
	}

	// The limit counts devices created by registration: 3 allowed, 2 made.
	decrypt(t, autoSecret, register(t, func() regResult { return dev.registerNew(auto, autoSecret, "third", now, nextNonce()) }))
	if got := register(t, func() regResult { return dev.registerOld(auto, autoSecret, "fourth", now, nextNonce()) }).refused(); got != "1011" {
		t.Errorf("over the limit: %q, want 1011", got)
	}

	// The per-IP rate limit answers RequestLimitExceeded.
	limited := false
	for i := 0; i < 100 && !limited; i++ {
		limited = dev.registerNew(auto, "wrongwrongwrongwrongwron", "x1", now, nextNonce()).newCode == "RequestLimitExceeded"
	}
	if !limited {
		t.Error("100 requests in a row were never rate limited")
	}
}
