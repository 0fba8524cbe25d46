package broker

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/protocol/tlspsk"
)

// pskSecret is the base64 device secret of the key devices below; the
// TLS-PSK key is its decoded bytes.
const pskSecret = "MDEyMzQ1Njc4OWFiY2RlZg=="

var pskKey = []byte("0123456789abcdef")

// pskDevices is both the devauth.DeviceSource and the PSKKeys of the PSK
// tests, over a fixed table keyed by client id, so that the real
// devauth.Authenticator decides the CONNECTs.
type pskDevices struct {
	devs map[string]devauth.DeviceAuth
}

func (d pskDevices) DeviceAuth(_ context.Context, pid, dn string) (devauth.DeviceAuth, error) {
	dev, ok := d.devs[pid+dn]
	if !ok {
		return devauth.DeviceAuth{}, fmt.Errorf("%s/%s: %w", pid, dn, registry.ErrDeviceNotFound)
	}
	return dev, nil
}

func (d pskDevices) PSKKey(_ context.Context, identity string) ([]byte, error) {
	dev, ok := d.devs[identity]
	if !ok || !dev.Enabled || dev.EncryptionType != registry.EncryptionKey {
		return nil, fmt.Errorf("%w: %q", tlspsk.ErrUnknownIdentity, identity)
	}
	return base64.StdEncoding.DecodeString(dev.PSK)
}

// pskEnv is a broker whose TLS listener serves certificate TLS and TLS-PSK.
type pskEnv struct {
	*testBroker
	pki  testPKI
	addr string
}

func startPSKBroker(t *testing.T, o Options, keys PSKKeys) *pskEnv {
	t.Helper()
	pki := newTestPKI(t, testPID+"cert")
	sum := sha256.Sum256(pki.client.Certificates[0].Certificate[0])
	keyDev := func(dn string, enabled bool) devauth.DeviceAuth {
		return devauth.DeviceAuth{ProductID: testPID, DeviceName: dn, EncryptionType: registry.EncryptionKey, Enabled: enabled, PSK: pskSecret}
	}
	devs := pskDevices{devs: map[string]devauth.DeviceAuth{
		testPID + "off": keyDev("off", false),
		testPID + "cert": {ProductID: testPID, DeviceName: "cert", EncryptionType: registry.EncryptionCert,
			Enabled: true, CertSHA256: hex.EncodeToString(sum[:])},
	}}
	for _, dn := range []string{"psk", "psk2", "psk3", "psk4", "other"} {
		devs.devs[testPID+dn] = keyDev(dn, true)
	}
	if keys == nil {
		keys = devs
	}
	o.TLSAddr = "127.0.0.1:0"
	o.TLSConfig = pki.server
	auth := devauth.NewAuthenticator(devauth.Config{Source: devs})
	tb := startBroker(t, o, Deps{Authenticator: auth, PSKKeys: keys})
	return &pskEnv{testBroker: tb, pki: pki, addr: tb.Addr(ListenerTLS).String()}
}

// pskHandshake opens a TLS-PSK connection to addr.
func pskHandshake(addr, identity string, key []byte, suite uint16) (*tlspsk.Conn, error) {
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	cfg := &tlspsk.ClientConfig{Identity: identity, Key: key, HandshakeTimeout: 10 * time.Second}
	if suite != 0 {
		cfg.CipherSuites = []uint16{suite}
	}
	pc := tlspsk.Client(raw, cfg)
	if err := pc.Handshake(context.Background()); err != nil {
		_ = raw.Close()
		return nil, err
	}
	return pc, nil
}

type pskClientOpts struct {
	identity string
	key      []byte
	suite    uint16
	clientID string
	username string
	onMsg    paho.MessageHandler
}

// pskDial connects paho over TLS-PSK; it returns the CONNACK code.
func pskDial(t *testing.T, addr string, o pskClientOpts) (paho.Client, byte, error) {
	t.Helper()
	po := paho.NewClientOptions().
		AddBroker("tcp://" + addr).
		SetClientID(o.clientID).
		SetUsername(o.username).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(10 * time.Second).
		SetProtocolVersion(4).
		SetCustomOpenConnectionFn(func(*url.URL, paho.ClientOptions) (net.Conn, error) {
			return pskHandshake(addr, o.identity, o.key, o.suite)
		})
	if o.onMsg != nil {
		po.SetDefaultPublishHandler(o.onMsg)
	}
	c := paho.NewClient(po)
	tok := c.Connect()
	if !tok.WaitTimeout(20 * time.Second) {
		t.Fatal("connect timed out")
	}
	return c, tok.(*paho.ConnectToken).ReturnCode(), tok.Error()
}

func TestPSKConnect(t *testing.T) {
	env := startPSKBroker(t, Options{}, nil)
	tests := []struct {
		name     string
		dn       string
		opts     pskClientOpts
		wantCode byte
	}{
		{"no username no password", "psk", pskClientOpts{}, 0},
		{"C SDK username, no password, AES128-CBC", "psk2", pskClientOpts{suite: tlspsk.TLS_PSK_WITH_AES_128_CBC_SHA, username: testPID + "psk2;12010126;abcde;2147483647"}, 0},
		{"AES256-CBC", "psk3", pskClientOpts{suite: tlspsk.TLS_PSK_WITH_AES_256_CBC_SHA}, 0},
		{"AES128-GCM", "psk4", pskClientOpts{suite: tlspsk.TLS_PSK_WITH_AES_128_GCM_SHA256}, 0},
		{"client id is another device", "psk", pskClientOpts{clientID: testPID + "other"}, 0x02},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := testPID + tt.dn
			tt.opts.identity, tt.opts.key = id, pskKey
			if tt.opts.clientID == "" {
				tt.opts.clientID = id
			}
			col := &collector{}
			tt.opts.onMsg = col.handle
			c, code, err := pskDial(t, env.addr, tt.opts)
			if code != tt.wantCode {
				t.Fatalf("CONNACK 0x%02x (%v), want 0x%02x", code, err, tt.wantCode)
			}
			if tt.wantCode != 0 {
				return
			}
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			defer c.Disconnect(100)
			wait(t, c.Subscribe(downTopic(tt.dn), 1, nil))
			// Larger than PSKMaxRecordSize: the downlink is split in records.
			big := strings.Repeat("d", 3*PSKMaxRecordSize)
			if got, err := env.Deliver(context.Background(), testPID, tt.dn, downTopic(tt.dn), []byte(big), 1); err != nil || got != Delivered {
				t.Fatalf("Deliver = %v, %v", got, err)
			}
			col.waitN(t, 1)
			wait(t, c.Publish("$thing/up/property/"+testPID+"/"+tt.dn, 1, false, tt.name))
			checkFor(t, 10*time.Second, func() error {
				for _, u := range env.rec.ups() {
					if u.client == id && u.reason == tt.name {
						return nil
					}
				}
				return errors.New("uplink not handled")
			})
		})
	}
}

func TestPSKHandshakeRefused(t *testing.T) {
	env := startPSKBroker(t, Options{}, nil)
	tests := []struct {
		name      string
		identity  string
		key       []byte
		wantAlert tlspsk.Alert // 0: any alert
	}{
		{"wrong key", testPID + "psk", []byte("wrong key 012345"), 0},
		{"unknown identity", testPID + "nobody", pskKey, tlspsk.AlertUnknownPSKIdentity},
		{"disabled device", testPID + "off", pskKey, tlspsk.AlertUnknownPSKIdentity},
		{"certificate device", testPID + "cert", pskKey, tlspsk.AlertUnknownPSKIdentity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc, err := pskHandshake(env.addr, tt.identity, tt.key, 0)
			if err == nil {
				pc.Close()
				t.Fatal("handshake succeeded")
			}
			var ae *tlspsk.AlertError
			if !errors.As(err, &ae) || !ae.Remote {
				t.Fatalf("handshake error %v, want an alert from the server", err)
			}
			if tt.wantAlert != 0 && ae.Alert != tt.wantAlert {
				t.Fatalf("alert %v, want %v", ae.Alert, tt.wantAlert)
			}
			// paho sees the same refusal as a connection error.
			c, _, err := pskDial(t, env.addr, pskClientOpts{identity: tt.identity, key: tt.key, clientID: tt.identity})
			if err == nil {
				c.Disconnect(0)
				t.Fatal("paho connected")
			}
		})
	}
}

func TestPSKCertificateTLSSamePort(t *testing.T) {
	env := startPSKBroker(t, Options{}, nil)
	tests := []struct {
		name    string
		conf    *tls.Config
		version uint16
	}{
		{"TLS 1.3", env.pki.client.Clone(), tls.VersionTLS13},
		{"TLS 1.2", env.pki.client.Clone(), tls.VersionTLS12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.conf.MaxVersion = tt.version
			c := mustDial(t, clientOpts{url: env.url(ListenerTLS), dn: "cert", clean: true, tls: tt.conf})
			wait(t, c.Publish("$thing/up/property/"+testPID+"/cert", 1, false, tt.name))
			c.Disconnect(100)
		})
	}
}

// readClosed waits until the server closes c; the read deadline only keeps
// a broken test from hanging.
func readClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server did not close the connection")
	}
}

func TestPSKBadHello(t *testing.T) {
	env := startPSKBroker(t, Options{ConnectTimeout: 300 * time.Millisecond}, nil)
	tests := []struct {
		name string
		data []byte
	}{
		{"HTTP request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"MQTT CONNECT in clear", []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 0}},
		{"handshake record not a ClientHello", []byte{22, 3, 3, 0, 4, 2, 0, 0, 0}},
		{"truncated ClientHello, then silence", []byte{22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3}},
		{"nothing", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", env.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tt.data); err != nil {
				t.Fatal(err)
			}
			readClosed(t, c)
		})
	}
	// The listener still serves.
	pc, err := pskHandshake(env.addr, testPID+"psk", pskKey, 0)
	if err != nil {
		t.Fatalf("handshake after bad hellos: %v", err)
	}
	pc.Close()
}

// blockingKeys blocks every lookup until its context ends.
type blockingKeys struct {
	once    sync.Once
	entered chan struct{}
}

func (k *blockingKeys) PSKKey(ctx context.Context, _ string) ([]byte, error) {
	k.once.Do(func() { close(k.entered) })
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestPSKHandshakeAbortedOnStop(t *testing.T) {
	keys := &blockingKeys{entered: make(chan struct{})}
	env := startPSKBroker(t, Options{ConnectTimeout: time.Minute}, keys)
	raw, err := net.Dial("tcp", env.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	done := make(chan error, 1)
	go func() {
		pc := tlspsk.Client(raw, &tlspsk.ClientConfig{Identity: testPID + "psk", Key: pskKey})
		done <- pc.Handshake(context.Background())
	}()
	select {
	case <-keys.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the key lookup was never called")
	}
	env.stop()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("handshake succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the handshake in progress survived the broker's stop")
	}
}

// Interop with TLS-PSK clients nobody here wrote.

func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not found in PATH (Debian: apt-get install mosquitto-clients openssl): skipping the interop test", name)
	}
	return path
}

func TestPSKMosquittoPub(t *testing.T) {
	bin := needTool(t, "mosquitto_pub")
	env := startPSKBroker(t, Options{}, nil)
	_, port, _ := net.SplitHostPort(env.addr)
	id := testPID + "psk"
	tests := []struct {
		name    string
		key     []byte
		wantOK  bool
		payload string
	}{
		{"right key", pskKey, true, `{"method":"report","clientToken":"mosq-1","params":{"power_switch":1}}`},
		{"wrong key", []byte("wrong key 012345"), false, `{"method":"report","clientToken":"mosq-2","params":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			topic := "$thing/up/property/" + testPID + "/psk"
			out, err := exec.CommandContext(ctx, bin,
				"--psk", hex.EncodeToString(tt.key), "--psk-identity", id, "-i", id,
				"-u", id+";12010126;mosqa;2147483647", "-t", topic, "-m", tt.payload, "-q", "1",
				"-p", port, "-h", "127.0.0.1", "--tls-version", "tlsv1.2",
				// Like Tencent's C SDK, offer only PSK suites: OpenSSL's
				// default list adds certificate suites, and such a hello is
				// served certificate TLS (see (*streamListener).secure).
				"--ciphers", "PSK-AES128-CBC-SHA:PSK-AES256-CBC-SHA").CombinedOutput()
			if tt.wantOK != (err == nil) {
				t.Fatalf("mosquitto_pub: %v (want success %v)\n%s", err, tt.wantOK, out)
			}
			if !tt.wantOK {
				// The TLS handshake failed: no CONNACK was ever read.
				if strings.Contains(string(out), "Connection Refused") {
					t.Fatalf("refused at CONNECT, want a failed handshake:\n%s", out)
				}
				return
			}
			checkFor(t, 10*time.Second, func() error {
				for _, u := range env.rec.ups() {
					if u.client == id && u.topic == topic && u.reason == tt.payload {
						return nil
					}
				}
				return errors.New("uplink not handled")
			})
		})
	}
}

func TestPSKOpenSSLClient(t *testing.T) {
	bin := needTool(t, "openssl")
	env := startPSKBroker(t, Options{}, nil)
	id := testPID + "psk"
	tests := []struct {
		name   string
		cipher string
		key    []byte
		wantOK bool
	}{
		{"PSK-AES128-CBC-SHA", "PSK-AES128-CBC-SHA", pskKey, true},
		{"PSK-AES256-CBC-SHA", "PSK-AES256-CBC-SHA", pskKey, true},
		{"PSK-AES128-GCM-SHA256", "PSK-AES128-GCM-SHA256", pskKey, true},
		{"wrong key", "PSK-AES128-CBC-SHA", []byte("wrong key 012345"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "s_client", "-psk", hex.EncodeToString(tt.key), "-psk_identity", id,
				"-cipher", tt.cipher, "-tls1_2", "-connect", env.addr)
			// An MQTT CONNECT without password: s_client sends stdin once
			// the handshake is done; it exits at stdin's end.
			cmd.Stdin = strings.NewReader(string(mqttConnect(id)))
			out, err := cmd.CombinedOutput()
			// OpenSSL prints the session even after a failed handshake;
			// only a completed one exits 0 without an alert.
			established := err == nil && !strings.Contains(string(out), "alert") &&
				strings.Contains(string(out), "Protocol  : TLSv1.2") &&
				strings.Contains(string(out), "Cipher    : "+tt.cipher)
			if established != tt.wantOK {
				t.Fatalf("handshake established %v, want %v (exit %v)\n%s", established, tt.wantOK, err, out)
			}
		})
	}
}

// mqttConnect encodes an MQTT 3.1.1 CONNECT with only a client id.
func mqttConnect(clientID string) []byte {
	body := []byte{0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, byte(len(clientID))}
	body = append(body, clientID...)
	return append([]byte{0x10, byte(len(body))}, body...)
}

func TestWantsPSK(t *testing.T) {
	tests := []struct {
		name   string
		suites []uint16
		want   bool
	}{
		{"Tencent C SDK", []uint16{0x008C, 0x008D}, true},
		{"mosquitto_pub --psk --tls-version tlsv1.2", []uint16{0x1302, 0x1303, 0x1301, 0x008C, 0x008D, 0x00FF}, true},
		{"GCM PSK only", []uint16{0x00A8}, true},
		{"OpenSSL default list with a PSK", []uint16{0x1302, 0xC02F, 0xC030, 0x008C, 0x00FF}, false},
		{"PSK and RSA CBC", []uint16{0x008C, 0x002F}, false},
		{"Go client", []uint16{0xC02B, 0xC02F, 0x1301}, false},
		{"TLS 1.3 only", []uint16{0x1301, 0x1302}, false},
		{"unsupported PSK suites only", []uint16{0x00AE, 0xC0A4}, false},
		{"none", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wantsPSK(&tlspsk.ClientHelloInfo{Version: 0x0303, CipherSuites: tt.suites}); got != tt.want {
				t.Fatalf("wantsPSK(%04x) = %v, want %v", tt.suites, got, tt.want)
			}
		})
	}
}
