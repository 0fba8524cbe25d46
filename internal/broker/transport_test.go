package broker

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mochi-mqtt/server/v2/packets"
)

// testPKI is a throwaway CA with a server and a device certificate.
type testPKI struct {
	server *tls.Config
	client *tls.Config // trusts the CA, presents the device certificate
	anon   *tls.Config // trusts the CA, no client certificate
}

func newTestPKI(t *testing.T, deviceCN string) testPKI {
	t.Helper()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "thingo test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) tls.Certificate {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	return testPKI{
		server: &tls.Config{
			Certificates: []tls.Certificate{leaf(2, "127.0.0.1", x509.ExtKeyUsageServerAuth)},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    pool,
			MinVersion:   tls.VersionTLS12,
		},
		client: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{leaf(3, deviceCN, x509.ExtKeyUsageClientAuth)}},
		anon:   &tls.Config{RootCAs: pool},
	}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func allListeners(pki testPKI) Options {
	return Options{
		TCPAddr:   "127.0.0.1:0",
		TLSAddr:   "127.0.0.1:0",
		WSAddr:    "127.0.0.1:0",
		WSSAddr:   "127.0.0.1:0",
		TLSConfig: pki.server,
	}
}

func TestTransports(t *testing.T) {
	pki := newTestPKI(t, testPID+"cert")
	tb := startBroker(t, allListeners(pki), Deps{})
	ctx := context.Background()
	tests := []struct {
		listener string
		dn       string
		tls      bool
		cert     bool
	}{
		{ListenerTCP, "tcp", false, false},
		{ListenerTLS, "tlskey", true, false},
		{ListenerTLS, "cert", true, true},
		{ListenerWS, "ws", false, false},
		{ListenerWSS, "wsskey", true, false},
		{ListenerWSS, "cert", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.listener+"/"+tt.dn, func(t *testing.T) {
			o := clientOpts{url: tb.url(tt.listener), dn: tt.dn, clean: true}
			if tt.tls {
				o.tls = pki.anon
				if tt.cert {
					o.tls = pki.client
				}
			}
			if !tt.cert {
				o.password = testPassword
			}
			col := &collector{}
			c := mustDial(t, o)
			if tt.cert && tb.auth.certCN(testPID+tt.dn) != testPID+tt.dn {
				t.Fatal("verified client certificate did not reach the Authenticator")
			}
			wait(t, c.Subscribe(downTopic(tt.dn), 1, col.handle))
			if got, err := tb.Deliver(ctx, testPID, tt.dn, downTopic(tt.dn), []byte("down"), 1); err != nil || got != Delivered {
				t.Fatalf("Deliver = %v, %v", got, err)
			}
			col.waitN(t, 1)
			wait(t, c.Publish("$thing/up/property/"+testPID+"/"+tt.dn, 1, false, "up"))
			c.Disconnect(100)
		})
	}
	checkFor(t, 5*time.Second, func() error {
		if n := len(tb.rec.ups()); n != len(tests) {
			return fmt.Errorf("%d uplinks", n)
		}
		return nil
	})
}

func TestWebSocketSubprotocols(t *testing.T) {
	tb := startBroker(t, Options{WSAddr: "127.0.0.1:0"}, Deps{})
	base := "ws://" + tb.Addr(ListenerWS).String()
	tests := []struct {
		name   string
		protos []string
	}{
		{"mqtt", []string{"mqtt"}},
		{"mqttv3.1", []string{"mqttv3.1"}},
		{"none", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := websocket.Dialer{Subprotocols: tt.protos, HandshakeTimeout: 5 * time.Second}
			ws, resp, err := d.Dial(base+WebSocketPath, nil)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer ws.Close()
			resp.Body.Close()
			var buf bytes.Buffer
			pk := connectPacket("ws"+tt.name, 4, true)
			if err := pk.ConnectEncode(&buf); err != nil {
				t.Fatal(err)
			}
			if err := ws.WriteMessage(websocket.BinaryMessage, buf.Bytes()); err != nil {
				t.Fatal(err)
			}
			_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, msg, err := ws.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if len(msg) != 4 || msg[0] != packets.Connack<<4 || msg[3] != 0 {
				t.Fatalf("CONNACK % x", msg)
			}
		})
	}
	t.Run("other path 404", func(t *testing.T) {
		resp, err := http.Get("http://" + tb.Addr(ListenerWS).String() + "/other")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestCertificateMismatchRefused(t *testing.T) {
	pki := newTestPKI(t, testPID+"someoneelse")
	tb := startBroker(t, Options{TLSAddr: "127.0.0.1:0", TLSConfig: pki.server}, Deps{})
	_, code, _, _ := dial(t, clientOpts{url: tb.url(ListenerTLS), dn: "victim", clean: true, tls: pki.client})
	if code != 0x04 {
		t.Fatalf("CONNACK 0x%02x, want 0x04", code)
	}
}
