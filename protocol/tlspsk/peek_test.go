package tlspsk

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"testing"
	"time"
)

// captureHello returns the first bytes a client writes (its ClientHello records).
func captureHello(t *testing.T, start func(net.Conn)) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	go func() {
		start(b)
		b.Close()
	}()
	buf := make([]byte, 4096)
	n, err := a.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

func recordOf(typ byte, vers uint16, body []byte) []byte {
	return append([]byte{typ, byte(vers >> 8), byte(vers), byte(len(body) >> 8), byte(len(body))}, body...)
}

func TestPeekClientHello(t *testing.T) {
	pskHello := captureHello(t, func(c net.Conn) {
		_ = Client(c, testClientConfig(0)).Handshake(context.Background())
	})
	tlsHello := captureHello(t, func(c net.Conn) {
		_ = tls.Client(c, &tls.Config{ServerName: "example.com"}).Handshake()
	})
	mbedHello := recordOf(recordTypeHandshake, 0x0301, rawHello(VersionTLS12,
		[]uint16{TLS_PSK_WITH_AES_256_CBC_SHA, TLS_PSK_WITH_AES_128_CBC_SHA}, []byte{0}, nil))
	// The same hello split over two records, 3 bytes in the first.
	msg := mbedHello[5:]
	split := append(recordOf(recordTypeHandshake, 0x0301, msg[:3]), recordOf(recordTypeHandshake, 0x0301, msg[3:])...)

	tests := []struct {
		name       string
		in         []byte
		wantErr    error
		offersPSK  bool
		pskOnly    bool
		serverName string
	}{
		{name: "tlspsk client", in: pskHello, offersPSK: true, pskOnly: true, serverName: testSNI},
		{name: "crypto/tls client", in: tlsHello, serverName: "example.com"},
		{name: "mbedTLS-like", in: mbedHello, offersPSK: true, pskOnly: true},
		{name: "fragmented", in: split, offersPSK: true, pskOnly: true},
		{name: "http", in: []byte("GET / HTTP/1.1\r\n\r\n"), wantErr: ErrNotClientHello},
		{name: "mqtt", in: []byte{0x10, 0x2a, 0, 4, 'M', 'Q', 'T', 'T', 4, 2}, wantErr: ErrNotClientHello},
		{name: "truncated", in: pskHello[:40], wantErr: io.EOF},
		{name: "empty", in: nil, wantErr: io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReaderSize(bytes.NewReader(tt.in), PeekBufferSize)
			info, err := PeekClientHello(br)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.OffersPSK() != tt.offersPSK || info.PSKOnly() != tt.pskOnly || info.ServerName != tt.serverName {
				t.Errorf("info %+v: OffersPSK %v PSKOnly %v", info, info.OffersPSK(), info.PSKOnly())
			}
			if br.Buffered() != len(tt.in) {
				t.Errorf("PeekClientHello consumed bytes: %d buffered of %d", br.Buffered(), len(tt.in))
			}
		})
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), DNSNames: []string{"thingo.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestRouting shows the 8883 integration: one listener, certificate TLS and
// TLS-PSK chosen by the ClientHello.
func TestRouting(t *testing.T) {
	cert := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			raw, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer raw.Close()
				br := bufio.NewReaderSize(raw, PeekBufferSize)
				hello, err := PeekClientHello(br)
				if err != nil {
					return
				}
				bc := NewBufferedConn(raw, br)
				var c net.Conn
				var who string
				if hello.PSKOnly() {
					pc := Server(bc, testServerConfig())
					if pc.Handshake(context.Background()) != nil {
						return
					}
					c, who = pc, "psk:"+pc.ConnectionState().Identity
				} else {
					tc := tls.Server(bc, &tls.Config{Certificates: []tls.Certificate{cert}})
					if tc.Handshake() != nil {
						return
					}
					c, who = tc, "cert"
				}
				_, _ = io.WriteString(c, who)
				_ = c.Close()
			}()
		}
	}()

	read := func(c net.Conn) string {
		b, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	pc := Client(raw, testClientConfig(TLS_PSK_WITH_AES_128_CBC_SHA))
	defer pc.Close()
	if got := read(pc); got != "psk:"+testIdentity {
		t.Errorf("PSK client routed to %q", got)
	}
	tc, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test server
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if got := read(tc); got != "cert" {
		t.Errorf("certificate client routed to %q", got)
	}
}
