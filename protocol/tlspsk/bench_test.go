package tlspsk

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"testing"
)

// BenchmarkHandshake measures full handshakes (client and server in one
// process over net.Pipe): TLS-PSK per suite versus crypto/tls with ECDHE.
func BenchmarkHandshake(b *testing.B) {
	for _, id := range defaultSuites {
		b.Run("PSK/"+CipherSuiteName(id), func(b *testing.B) {
			ccfg, scfg := testClientConfig(id), testServerConfig()
			for b.Loop() {
				x, y := net.Pipe()
				cc, sc := Client(x, ccfg), Server(y, scfg)
				if cerr, serr := handshakePair(b, cc, sc); cerr != nil || serr != nil {
					b.Fatal(cerr, serr)
				}
				x.Close()
				y.Close()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
	cert := benchCert(b)
	for _, tc := range []struct {
		name  string
		vers  uint16
		suite uint16
	}{
		{"crypto-tls/TLS1.2-ECDHE-ECDSA-AES128-GCM", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		{"crypto-tls/TLS1.3-ECDHE-X25519", tls.VersionTLS13, 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			scfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tc.vers, MaxVersion: tc.vers}
			ccfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tc.vers, MaxVersion: tc.vers} //nolint:gosec // benchmark
			if tc.suite != 0 {
				scfg.CipherSuites = []uint16{tc.suite}
			}
			if tc.vers == tls.VersionTLS13 {
				ccfg.CurvePreferences = []tls.CurveID{tls.X25519}
			}
			for b.Loop() {
				x, y := net.Pipe()
				cc, sc := tls.Client(x, ccfg), tls.Server(y, scfg)
				done := make(chan error, 1)
				go func() { done <- sc.Handshake() }()
				if err := cc.Handshake(); err != nil {
					b.Fatal(err)
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				x.Close()
				y.Close()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}

func benchCert(b *testing.B) tls.Certificate {
	t := &testing.T{}
	cert := selfSigned(t)
	if t.Failed() {
		b.Fatal("cannot create a certificate")
	}
	return cert
}

// BenchmarkThroughput measures bulk transfer in 16 KiB writes over loopback TCP.
func BenchmarkThroughput(b *testing.B) {
	buf := make([]byte, 16*1024)
	run := func(b *testing.B, w io.Writer, r io.Reader) {
		done := make(chan error, 1)
		go func() {
			_, err := io.Copy(io.Discard, r)
			done <- err
		}()
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			if _, err := w.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, id := range defaultSuites {
		b.Run("PSK/"+CipherSuiteName(id), func(b *testing.B) {
			cc, sc := connect(b, tcpPair, testClientConfig(id), testServerConfig())
			run(b, cc, sc)
		})
	}
	b.Run("crypto-tls/TLS1.2-ECDHE-ECDSA-AES128-GCM", func(b *testing.B) {
		x, y := tcpPair(b)
		scfg := &tls.Config{Certificates: []tls.Certificate{benchCert(b)}, MaxVersion: tls.VersionTLS12}
		cc := tls.Client(x, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}) //nolint:gosec // benchmark
		sc := tls.Server(y, scfg)
		b.Cleanup(func() { x.Close(); y.Close() })
		go func() { _ = sc.Handshake() }()
		if err := cc.HandshakeContext(context.Background()); err != nil {
			b.Fatal(err)
		}
		run(b, cc, sc)
	})
}
