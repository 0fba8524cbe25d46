package pki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func mustLoad(t *testing.T, dir string, o Options) *Authority {
	t.Helper()
	a, err := LoadOrCreate(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func parsePEMCert(t *testing.T, s string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCreateAndReload(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	a := mustLoad(t, dir, Options{Hosts: []string{"iot.example.com", "192.0.2.7"}})

	for name, perm := range map[string]os.FileMode{CAFile: 0o644, CAKeyFile: 0o600, ServerFile: 0o644, ServerKeyFile: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != perm {
			t.Errorf("%s mode = %v, want %v", name, fi.Mode().Perm(), perm)
		}
	}

	ca := parsePEMCert(t, string(a.CAPEM()))
	if ca.Subject.CommonName != "Thingo Device CA" || !ca.IsCA {
		t.Errorf("CA subject %v, IsCA %v", ca.Subject, ca.IsCA)
	}
	srv := a.ServerCertificate().Leaf
	for _, name := range []string{"localhost", "iot.example.com"} {
		if !slices.Contains(srv.DNSNames, name) {
			t.Errorf("server DNS names %v lack %s", srv.DNSNames, name)
		}
	}
	for _, ip := range []string{"127.0.0.1", "::1", "192.0.2.7"} {
		if !slices.ContainsFunc(srv.IPAddresses, net.ParseIP(ip).Equal) {
			t.Errorf("server IPs %v lack %s", srv.IPAddresses, ip)
		}
	}
	if _, err := srv.Verify(x509.VerifyOptions{DNSName: "iot.example.com", Roots: a.ClientCAs()}); err != nil {
		t.Errorf("server certificate does not chain to the CA: %v", err)
	}

	b := mustLoad(t, dir, Options{Hosts: []string{"iot.example.com"}})
	if !bytes.Equal(a.CAPEM(), b.CAPEM()) {
		t.Error("reload created a new CA")
	}
	if !bytes.Equal(a.ServerCertificate().Certificate[0], b.ServerCertificate().Certificate[0]) {
		t.Error("reload created a new server certificate")
	}

	c := mustLoad(t, dir, Options{Hosts: []string{"other.example.com"}})
	if !bytes.Equal(a.CAPEM(), c.CAPEM()) {
		t.Error("new host created a new CA")
	}
	if !slices.Contains(c.ServerCertificate().Leaf.DNSNames, "other.example.com") {
		t.Error("server certificate not re-created for a new host")
	}
}

func TestIssueDeviceCert(t *testing.T) {
	a := mustLoad(t, t.TempDir(), Options{})
	tests := []struct{ pid, dn string }{
		{"AB12CD34EF", "dev001"},
		{"F2F43QKKA4", "5629fbfa12f4"},
		{"AB12CD34EF", "weird:name@home.local-1_2"},
		{"P", "d/with%slash"},
	}
	for _, tt := range tests {
		t.Run(tt.dn, func(t *testing.T) {
			certPEM, keyPEM, err := a.IssueDeviceCert(tt.pid, tt.dn)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM)); err != nil {
				t.Errorf("cert and key do not match: %v", err)
			}
			c := parsePEMCert(t, certPEM)
			if c.Subject.CommonName != tt.pid+tt.dn {
				t.Errorf("CN = %q", c.Subject.CommonName)
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: a.ClientCAs(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Errorf("device certificate does not verify for client auth: %v", err)
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: a.ClientCAs(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
				t.Error("device certificate verifies for server auth")
			}
			if years := c.NotAfter.Sub(c.NotBefore).Hours() / 24 / 365; years < 9.9 || years > 10.1 {
				t.Errorf("validity %.1f years", years)
			}
			pid, dn, ok := DeviceFromCert(c)
			if !ok || pid != tt.pid || dn != tt.dn {
				t.Errorf("DeviceFromCert = %q, %q, %v", pid, dn, ok)
			}
		})
	}
}

func TestIssueDeviceCertInvalid(t *testing.T) {
	a := mustLoad(t, t.TempDir(), Options{})
	for _, tt := range []struct{ pid, dn string }{
		{"", "dev"}, {"AB12", ""}, {"AB:12", "dev"}, {"AB12", "has space"}, {"AB12", "ctl\x00"},
		{strings.Repeat("P", 65), "dev"}, {"AB12", strings.Repeat("d", 129)},
	} {
		if _, _, err := a.IssueDeviceCert(tt.pid, tt.dn); !errors.Is(err, ErrInvalidDevice) {
			t.Errorf("IssueDeviceCert(%q, %q) = %v, want ErrInvalidDevice", tt.pid, tt.dn, err)
		}
	}
}

func TestDeviceFromCert(t *testing.T) {
	urn := func(s string) []*url.URL { u, _ := url.Parse(s); return []*url.URL{u} }
	tests := []struct {
		name    string
		c       *x509.Certificate
		pid, dn string
		ok      bool
	}{
		{"nil", nil, "", "", false},
		{"empty", &x509.Certificate{}, "", "", false},
		{"subject fallback", &x509.Certificate{Subject: pkix.Name{CommonName: "PIDdev", OrganizationalUnit: []string{"PID"}, SerialNumber: "dev"}}, "PID", "dev", true},
		{"subject mismatch", &x509.Certificate{Subject: pkix.Name{CommonName: "PIDother", OrganizationalUnit: []string{"PID"}, SerialNumber: "dev"}}, "", "", false},
		{"CN only", &x509.Certificate{Subject: pkix.Name{CommonName: "AB12CD34EFdev"}}, "", "", false},
		{"urn", &x509.Certificate{URIs: urn("urn:thingo:device:PID:a%2Fb")}, "PID", "a/b", true},
		{"urn without device", &x509.Certificate{URIs: urn("urn:thingo:device:PID")}, "", "", false},
		{"urn bad escape", &x509.Certificate{URIs: urn("urn:thingo:device:PID:%zz")}, "", "", false},
		{"other urn", &x509.Certificate{URIs: urn("urn:example:PID:dev")}, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pid, dn, ok := DeviceFromCert(tt.c)
			if pid != tt.pid || dn != tt.dn || ok != tt.ok {
				t.Errorf("got %q, %q, %v; want %q, %q, %v", pid, dn, ok, tt.pid, tt.dn, tt.ok)
			}
		})
	}
}

// handshake runs one TLS handshake on 127.0.0.1 and returns the client
// certificates the server saw, or the server's handshake error.
func handshake(t *testing.T, a *Authority, client *tls.Config) ([]*x509.Certificate, error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", a.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		peers []*x509.Certificate
		err   error
	}
	done := make(chan result, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer conn.Close()
		tc := conn.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			done <- result{err: err}
			return
		}
		_, _ = tc.Write([]byte("ok"))
		done <- result{peers: tc.ConnectionState().PeerCertificates}
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err == nil {
		_, _ = io.ReadAll(io.LimitReader(conn, 2))
		conn.Close()
	}
	r := <-done
	return r.peers, r.err
}

func TestTLSHandshake(t *testing.T) {
	a := mustLoad(t, t.TempDir(), Options{})
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(a.CAPEM())

	certPEM, keyPEM, err := a.IssueDeviceCert("AB12CD34EF", "dev001")
	if err != nil {
		t.Fatal(err)
	}
	deviceCert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	other := mustLoad(t, t.TempDir(), Options{})
	otherPEM, otherKey, err := other.IssueDeviceCert("AB12CD34EF", "dev001")
	if err != nil {
		t.Fatal(err)
	}
	foreignCert, err := tls.X509KeyPair([]byte(otherPEM), []byte(otherKey))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		certs   []tls.Certificate
		version uint16
		device  bool
		wantErr bool
	}{
		{"client certificate", []tls.Certificate{deviceCert}, 0, true, false},
		{"client certificate TLS 1.2", []tls.Certificate{deviceCert}, tls.VersionTLS12, true, false},
		{"no client certificate", nil, 0, false, false},
		{"certificate of another CA", []tls.Certificate{foreignCert}, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peers, err := handshake(t, a, &tls.Config{
				RootCAs: roots, ServerName: "localhost", Certificates: tt.certs, MaxVersion: tt.version,
			})
			if tt.wantErr {
				if err == nil {
					t.Fatal("handshake succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.device {
				if len(peers) != 0 {
					t.Errorf("server saw %d client certificates", len(peers))
				}
				return
			}
			if len(peers) == 0 {
				t.Fatal("server saw no client certificate")
			}
			pid, dn, ok := DeviceFromCert(peers[0])
			if !ok || pid != "AB12CD34EF" || dn != "dev001" {
				t.Errorf("DeviceFromCert = %q, %q, %v", pid, dn, ok)
			}
		})
	}

	if _, err := handshake(t, a, &tls.Config{RootCAs: roots, ServerName: "localhost", MaxVersion: tls.VersionTLS11}); err == nil {
		t.Error("TLS 1.1 accepted")
	}
}

func FuzzDeviceFromCert(f *testing.F) {
	f.Add("urn:thingo:device:AB12CD34EF:dev001", "", "", "")
	f.Add("urn:thingo:device:P:a%2Fb%40c", "", "", "")
	f.Add("", "PIDdev", "PID", "dev")
	f.Add("urn:thingo:device::", "x", "", "x")
	f.Fuzz(func(t *testing.T, uri, cn, ou, sn string) {
		c := &x509.Certificate{Subject: pkix.Name{CommonName: cn, OrganizationalUnit: []string{ou}, SerialNumber: sn}}
		if u, err := url.Parse(uri); err == nil {
			c.URIs = []*url.URL{u}
		}
		pid, dn, ok := DeviceFromCert(c)
		if !ok {
			return
		}
		if err := checkDevice(pid, dn); err != nil {
			t.Fatalf("accepted invalid device %q %q: %v", pid, dn, err)
		}
		again, err := url.Parse(deviceURN(pid, dn).String())
		if err != nil {
			t.Fatal(err)
		}
		pid2, dn2, ok2 := DeviceFromCert(&x509.Certificate{URIs: []*url.URL{again}})
		if !ok2 || pid2 != pid || dn2 != dn {
			t.Fatalf("round trip of %q %q gave %q %q %v", pid, dn, pid2, dn2, ok2)
		}
	})
}
