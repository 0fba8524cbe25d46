package tlspsk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

const (
	testIdentity = "AB12CD34EFdev001"
	testSNI      = "AB12CD34EF.iotcloud.tencentdevices.com"
)

var testKey = []byte("0123456789abcdef") // b64dec("MDEyMzQ1Njc4OWFiY2RlZg==")

func testServerConfig() *Config {
	return &Config{
		GetKey: func(_ context.Context, identity string) ([]byte, error) {
			if identity == testIdentity {
				return testKey, nil
			}
			return nil, fmt.Errorf("device %q: %w", identity, ErrUnknownIdentity)
		},
		IdentityHint: "thingo",
	}
}

func testClientConfig(suite uint16) *ClientConfig {
	cfg := &ClientConfig{Identity: testIdentity, Key: testKey, ServerName: testSNI}
	if suite != 0 {
		cfg.CipherSuites = []uint16{suite}
	}
	return cfg
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	return client, server
}

type pairFunc func(testing.TB) (net.Conn, net.Conn)

func pipePair(testing.TB) (net.Conn, net.Conn) { return net.Pipe() }

// handshakePair runs both handshakes concurrently and returns their errors.
func handshakePair(t testing.TB, cc, sc *Conn) (clientErr, serverErr error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sc.Handshake(ctx) }()
	clientErr = cc.Handshake(ctx)
	if clientErr != nil {
		cc.Close() // unblock a server still waiting on the pipe
	}
	serverErr = <-done
	return clientErr, serverErr
}

func connect(t testing.TB, pair pairFunc, ccfg *ClientConfig, scfg *Config) (*Conn, *Conn) {
	t.Helper()
	a, b := pair(t)
	cc, sc := Client(a, ccfg), Server(b, scfg)
	// Close the transports first: over net.Pipe a close_notify nobody reads
	// would block Close until its write deadline.
	t.Cleanup(func() { a.Close(); b.Close(); cc.Close(); sc.Close() })
	if cerr, serr := handshakePair(t, cc, sc); cerr != nil || serr != nil {
		t.Fatalf("handshake: client %v, server %v", cerr, serr)
	}
	return cc, sc
}

func TestHandshakeAndEcho(t *testing.T) {
	pairs := map[string]pairFunc{"pipe": pipePair, "tcp": tcpPair}
	for _, id := range defaultSuites {
		for pname, pair := range pairs {
			t.Run(CipherSuiteName(id)+"/"+pname, func(t *testing.T) {
				cc, sc := connect(t, pair, testClientConfig(id), testServerConfig())
				want := ConnectionState{
					HandshakeComplete: true, Identity: testIdentity, IdentityHint: "thingo",
					ServerName: testSNI, CipherSuite: id, ExtendedMasterSecret: true,
				}
				if got := sc.ConnectionState(); got != want {
					t.Errorf("server state = %+v, want %+v", got, want)
				}
				if got := cc.ConnectionState(); got != want {
					t.Errorf("client state = %+v, want %+v", got, want)
				}
				echo(t, cc, sc, []byte("hello from device"))
				echo(t, sc, cc, []byte("hello from server"))
			})
		}
	}
}

// echo writes msg on w and checks it arrives on r.
func echo(t *testing.T, w, r io.ReadWriter, msg []byte) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		_, err := w.Write(msg)
		errc <- err
	}()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("got %q, want %q", got, msg)
	}
}

func TestLargeWrite(t *testing.T) {
	msg := make([]byte, 300*1024+17)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	for _, id := range defaultSuites {
		t.Run(CipherSuiteName(id), func(t *testing.T) {
			cc, sc := connect(t, tcpPair, testClientConfig(id), testServerConfig())
			echo(t, cc, sc, msg)
			echo(t, sc, cc, msg)
		})
	}
}

func TestFragmentedHandshake(t *testing.T) {
	for _, frag := range []int{1, 3, 50} {
		t.Run(fmt.Sprint(frag), func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			cc, sc := Client(a, testClientConfig(0)), Server(b, testServerConfig())
			cc.maxFragment, sc.maxFragment = frag, frag
			if cerr, serr := handshakePair(t, cc, sc); cerr != nil || serr != nil {
				t.Fatalf("handshake: client %v, server %v", cerr, serr)
			}
			echo(t, cc, sc, []byte("fragmented application data"))
		})
	}
}

func TestCloseNotify(t *testing.T) {
	cc, sc := connect(t, tcpPair, testClientConfig(0), testServerConfig())
	echo(t, cc, sc, []byte("bye"))
	if err := cc.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := sc.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("Read after close_notify = %d, %v; want 0, EOF", n, err)
	}
	if err := cc.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
}

func TestHandshakeFailures(t *testing.T) {
	tests := []struct {
		name        string
		client      *ClientConfig
		server      func(*Config)
		clientAlert Alert // alert the client receives
		serverAlert Alert // alert the server sends
	}{
		{
			name:        "wrong key",
			client:      &ClientConfig{Identity: testIdentity, Key: []byte("wrong key 123456")},
			clientAlert: AlertBadRecordMAC, serverAlert: AlertBadRecordMAC,
		},
		{
			name:        "wrong key GCM",
			client:      &ClientConfig{Identity: testIdentity, Key: []byte("x"), CipherSuites: []uint16{TLS_PSK_WITH_AES_256_GCM_SHA384}},
			clientAlert: AlertBadRecordMAC, serverAlert: AlertBadRecordMAC,
		},
		{
			name:        "unknown identity",
			client:      &ClientConfig{Identity: "nobody", Key: testKey},
			clientAlert: AlertUnknownPSKIdentity, serverAlert: AlertUnknownPSKIdentity,
		},
		{
			name:        "hidden unknown identity",
			client:      &ClientConfig{Identity: "nobody", Key: testKey},
			server:      func(c *Config) { c.HideUnknownIdentity = true },
			clientAlert: AlertBadRecordMAC, serverAlert: AlertBadRecordMAC,
		},
		{
			name:   "key store failure",
			client: testClientConfig(0),
			server: func(c *Config) {
				c.GetKey = func(context.Context, string) ([]byte, error) { return nil, errors.New("db down") }
			},
			clientAlert: AlertInternalError, serverAlert: AlertInternalError,
		},
		{
			name:        "no common suite",
			client:      testClientConfig(TLS_PSK_WITH_AES_128_CBC_SHA),
			server:      func(c *Config) { c.CipherSuites = []uint16{TLS_PSK_WITH_AES_256_GCM_SHA384} },
			clientAlert: AlertHandshakeFailure, serverAlert: AlertHandshakeFailure,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scfg := testServerConfig()
			if tt.server != nil {
				tt.server(scfg)
			}
			a, b := tcpPair(t)
			cc, sc := Client(a, tt.client), Server(b, scfg)
			defer cc.Close()
			defer sc.Close()
			cerr, serr := handshakePair(t, cc, sc)
			var ca, sa *AlertError
			if !errors.As(cerr, &ca) || !ca.Remote || ca.Alert != tt.clientAlert {
				t.Errorf("client error = %v, want remote %v", cerr, tt.clientAlert)
			}
			if !errors.As(serr, &sa) || sa.Remote || sa.Alert != tt.serverAlert {
				t.Errorf("server error = %v, want local %v", serr, tt.serverAlert)
			}
			if _, err := sc.Write([]byte("x")); err == nil {
				t.Error("Write after failed handshake succeeded")
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if err := Server(a, &Config{}).Handshake(context.Background()); !errors.Is(err, ErrConfig) {
		t.Errorf("server without GetKey: %v", err)
	}
	if err := Client(b, &ClientConfig{Key: testKey, CipherSuites: []uint16{0x002F}}).Handshake(context.Background()); !errors.Is(err, ErrConfig) {
		t.Errorf("client with unsupported suite: %v", err)
	}
}

// rawHello returns a ClientHello message with mutations applied to a field.
func rawHello(vers uint16, suites []uint16, compression []byte, exts []byte) []byte {
	b := []byte{byte(vers >> 8), byte(vers)}
	b = append(b, make([]byte, 32)...)
	b = append(b, 0)
	var cs []byte
	for _, s := range suites {
		cs = append(cs, byte(s>>8), byte(s))
	}
	b = appendVec16(b, cs)
	b = append(b, byte(len(compression)))
	b = append(b, compression...)
	if exts != nil {
		b = appendVec16(b, exts)
	}
	return handshakeMsg(typeClientHello, b)
}

func TestServerRejectsClientHello(t *testing.T) {
	psk := []uint16{TLS_PSK_WITH_AES_128_CBC_SHA}
	null := []byte{0}
	tests := []struct {
		name  string
		hello []byte
		alert Alert
	}{
		{"TLS 1.0", rawHello(0x0301, psk, null, nil), AlertProtocolVersion},
		{"TLS 1.1", rawHello(0x0302, psk, null, nil), AlertProtocolVersion},
		{"deflate only", rawHello(VersionTLS12, psk, []byte{1}, nil), AlertHandshakeFailure},
		{"no PSK suite", rawHello(VersionTLS12, []uint16{0xc02f}, null, nil), AlertHandshakeFailure},
		{"renegotiation_info not empty", rawHello(VersionTLS12, psk, null, appendExt(nil, extRenegotiationInfo, []byte{1, 9})), AlertHandshakeFailure},
		{"duplicate extension", rawHello(VersionTLS12, psk, null, append(appendExt(nil, 23, nil), appendExt(nil, 23, nil)...)), AlertDecodeError},
		{"truncated", rawHello(VersionTLS12, psk, null, nil)[:20], AlertDecodeError},
		{"server hello", handshakeMsg(typeServerHello, nil), AlertUnexpectedMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			sc := Server(b, testServerConfig())
			defer sc.Close()
			errc := make(chan error, 1)
			go func() { errc <- sc.Handshake(context.Background()) }()
			msg := tt.hello
			if tt.name == "truncated" { // length header says more than is sent: fix it up
				msg = handshakeMsg(typeClientHello, msg[4:])
			}
			rec := append([]byte{recordTypeHandshake, 3, 1, byte(len(msg) >> 8), byte(len(msg))}, msg...)
			if _, err := a.Write(rec); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 7)
			if _, err := io.ReadFull(a, got); err != nil {
				t.Fatal(err)
			}
			want := []byte{recordTypeAlert, 3, 3, 0, 2, alertLevelFatal, byte(tt.alert)}
			if !bytes.Equal(got, want) {
				t.Errorf("server answered % x, want % x", got, want)
			}
			a.Close()
			var ae *AlertError
			if err := <-errc; !errors.As(err, &ae) || ae.Alert != tt.alert {
				t.Errorf("Handshake = %v", err)
			}
		})
	}
}

func TestTamperedRecord(t *testing.T) {
	for _, id := range defaultSuites {
		t.Run(CipherSuiteName(id), func(t *testing.T) {
			cc, sc := connect(t, tcpPair, testClientConfig(id), testServerConfig())
			echo(t, cc, sc, []byte("intact"))
			cc.outMu.Lock()
			rec := cc.out.seal(nil, recordTypeApplicationData, []byte("tampered payload"))
			rec[len(rec)-1] ^= 0x40
			_, err := cc.conn.Write(rec)
			cc.outMu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			var ae *AlertError
			if _, err := sc.Read(make([]byte, 64)); !errors.As(err, &ae) || ae.Alert != AlertBadRecordMAC || ae.Remote {
				t.Fatalf("server Read = %v, want local bad_record_mac", err)
			}
			if _, err := cc.Read(make([]byte, 64)); !errors.As(err, &ae) || ae.Alert != AlertBadRecordMAC || !ae.Remote {
				t.Fatalf("client Read = %v, want remote bad_record_mac", err)
			}
		})
	}
}

func TestRenegotiationRefused(t *testing.T) {
	tests := []struct {
		name  string
		hello []byte
		// from initiates the renegotiation, to refuses it.
		from, to func(cc, sc *Conn) *Conn
	}{
		{
			name:  "client sends ClientHello",
			hello: marshalClientHello(randomBytes(32), defaultSuites, ""),
			from:  func(cc, _ *Conn) *Conn { return cc },
			to:    func(_, sc *Conn) *Conn { return sc },
		},
		{
			name:  "server sends HelloRequest",
			hello: handshakeMsg(typeHelloRequest, nil),
			from:  func(_, sc *Conn) *Conn { return sc },
			to:    func(cc, _ *Conn) *Conn { return cc },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, sc := connect(t, tcpPair, testClientConfig(TLS_PSK_WITH_AES_128_CBC_SHA), testServerConfig())
			from, to := tt.from(cc, sc), tt.to(cc, sc)
			var wg sync.WaitGroup
			wg.Add(1)
			got := make([]byte, 5)
			var readErr error
			go func() {
				defer wg.Done()
				_, readErr = io.ReadFull(to, got)
			}()
			// The renegotiation message, protected under the current keys.
			from.outMu.Lock()
			err := from.writeRecordLocked(recordTypeHandshake, tt.hello)
			from.outMu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			from.inMu.Lock()
			typ, data, err := from.readRecord()
			from.inMu.Unlock()
			if err != nil || typ != recordTypeAlert || !bytes.Equal(data, []byte{alertLevelWarning, byte(AlertNoRenegotiation)}) {
				t.Fatalf("answer: type %d data %v err %v; want a no_renegotiation warning", typ, data, err)
			}
			if _, err := from.Write([]byte("still")); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			if readErr != nil || string(got) != "still" {
				t.Fatalf("read %q, %v after the refused renegotiation", got, readErr)
			}
		})
	}
}

func TestHandshakeTimeout(t *testing.T) {
	t.Run("config", func(t *testing.T) {
		a, b := net.Pipe()
		defer a.Close()
		cfg := testServerConfig()
		cfg.HandshakeTimeout = 50 * time.Millisecond
		sc := Server(b, cfg)
		defer sc.Close()
		if err := sc.Handshake(context.Background()); !errors.Is(err, ErrHandshakeTimeout) {
			t.Fatalf("Handshake = %v, want ErrHandshakeTimeout", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		a, b := net.Pipe()
		defer a.Close()
		sc := Server(b, testServerConfig())
		defer sc.Close()
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- sc.Handshake(ctx) }()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Handshake = %v, want context.Canceled", err)
		}
	})
}

func TestMaxRecordSize(t *testing.T) {
	scfg := testServerConfig()
	scfg.MaxRecordSize = 512
	cc, sc := connect(t, tcpPair, testClientConfig(0), scfg)
	msg := bytes.Repeat([]byte("z"), 5000)
	errc := make(chan error, 1)
	go func() {
		_, err := sc.Write(msg)
		errc <- err
	}()
	cc.inMu.Lock()
	defer cc.inMu.Unlock()
	for got := 0; got < len(msg); {
		typ, data, err := cc.readRecord()
		if err != nil || typ != recordTypeApplicationData {
			t.Fatalf("readRecord: type %d, %v", typ, err)
		}
		if len(data) > 512 {
			t.Fatalf("record of %d bytes, limit 512", len(data))
		}
		got += len(data)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
