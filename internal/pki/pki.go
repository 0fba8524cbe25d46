// Package pki is Thingo's certificate authority: it creates or loads the CA
// that issues and verifies device certificates and the server certificate of
// the TLS listeners, issues device certificates and builds the listeners' TLS
// configuration.
package pki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// File names inside the directory given to LoadOrCreate.
const (
	CAFile        = "ca.pem"
	CAKeyFile     = "ca-key.pem"
	ServerFile    = "server.pem"
	ServerKeyFile = "server-key.pem"
)

// Lifetimes of the certificates Thingo creates.
const (
	CAValidity     = 10 * 365 * 24 * time.Hour
	ServerValidity = 2 * 365 * 24 * time.Hour
	DeviceValidity = 10 * 365 * 24 * time.Hour
	// renewBefore is how long before expiry a generated server certificate
	// is replaced at start.
	renewBefore = 30 * 24 * time.Hour
)

// Errors of this package; the returned errors wrap them with file names.
var (
	// ErrNotCA means the CA certificate may not sign certificates.
	ErrNotCA = errors.New("certificate is not a CA")
	// ErrOptions means a certificate file was given without its key or the
	// other way round.
	ErrOptions = errors.New("certificate and key files must be given together")
	// ErrInvalidDevice means a product ID or device name cannot be put in a
	// certificate.
	ErrInvalidDevice = errors.New("invalid product ID or device name")
)

// Options selects existing certificate files; empty fields mean "create and
// keep them in the directory".
type Options struct {
	// CACertFile and CAKeyFile are the PEM files of the device CA (both or
	// neither).
	CACertFile string
	CAKeyFile  string
	// CertFile and KeyFile are the PEM files of the server certificate (or
	// chain, leaf first) and its key (both or neither). They are used as
	// given and need not be signed by the CA.
	CertFile string
	KeyFile  string
	// Hosts are extra DNS names or IP addresses for a generated server
	// certificate, besides localhost, 127.0.0.1, ::1 and the host name.
	Hosts []string
}

// Authority is a loaded CA and server certificate. It is safe for concurrent
// use.
type Authority struct {
	ca        tls.Certificate // leaf is ca.Leaf, key is ca.PrivateKey
	caPEM     []byte          // every certificate of the CA file
	clientCAs *x509.CertPool
	server    tls.Certificate
	now       func() time.Time
}

// LoadOrCreate loads the CA and server certificate from the files named in o,
// or from dir, creating those that are missing in dir (mode 0700 for dir,
// 0600 for keys). A server certificate generated earlier is created again
// when it expires within 30 days, no longer chains to the CA, or lacks one
// of the requested host names.
func LoadOrCreate(dir string, o Options) (*Authority, error) {
	if (o.CACertFile == "") != (o.CAKeyFile == "") {
		return nil, fmt.Errorf("pki: CA: %w", ErrOptions)
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, fmt.Errorf("pki: server: %w", ErrOptions)
	}
	needDir := o.CACertFile == "" || o.CertFile == ""
	if needDir {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("pki: %w", err)
		}
	}
	a := &Authority{now: time.Now}

	caCert, caKey := o.CACertFile, o.CAKeyFile
	if caCert == "" {
		caCert, caKey = filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
		if err := createCAIfMissing(caCert, caKey, a.now()); err != nil {
			return nil, err
		}
	}
	if err := a.loadCA(caCert, caKey); err != nil {
		return nil, err
	}

	if o.CertFile != "" {
		c, err := loadKeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("pki: server certificate: %w", err)
		}
		a.server = c
		return a, nil
	}
	hosts := defaultHosts(o.Hosts)
	certFile, keyFile := filepath.Join(dir, ServerFile), filepath.Join(dir, ServerKeyFile)
	c, err := loadKeyPair(certFile, keyFile)
	switch {
	case err == nil && a.serverCertUsable(c, hosts):
		a.server = c
		return a, nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("pki: server certificate (delete %s and %s to create a new one): %w", certFile, keyFile, err)
	}
	if err := a.createServerCert(certFile, keyFile, hosts); err != nil {
		return nil, err
	}
	if a.server, err = loadKeyPair(certFile, keyFile); err != nil {
		return nil, fmt.Errorf("pki: server certificate: %w", err)
	}
	return a, nil
}

// loadCA loads and checks the CA key pair.
func (a *Authority) loadCA(certFile, keyFile string) error {
	c, err := loadKeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("pki: CA: %w", err)
	}
	leaf := c.Leaf
	if !leaf.IsCA || !leaf.BasicConstraintsValid || (leaf.KeyUsage != 0 && leaf.KeyUsage&x509.KeyUsageCertSign == 0) {
		return fmt.Errorf("pki: CA: %s: %w", certFile, ErrNotCA)
	}
	a.ca = c
	a.clientCAs = x509.NewCertPool()
	var buf bytes.Buffer
	for _, der := range c.Certificate {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("pki: CA: %s: %w", certFile, err)
		}
		a.clientCAs.AddCert(cert)
		if err := pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: der}); err != nil {
			return fmt.Errorf("pki: CA: %w", err)
		}
	}
	a.caPEM = buf.Bytes()
	return nil
}

// loadKeyPair reads a PEM certificate (chain) and its key, checking that they
// belong together.
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s and %s: %w", certFile, keyFile, err)
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return tls.Certificate{}, fmt.Errorf("%s: %w", certFile, err)
		}
	}
	return c, nil
}

// serverCertUsable reports whether a generated server certificate can stay.
func (a *Authority) serverCertUsable(c tls.Certificate, hosts []string) bool {
	leaf := c.Leaf
	if a.now().Add(renewBefore).After(leaf.NotAfter) {
		return false
	}
	if err := leaf.CheckSignatureFrom(a.ca.Leaf); err != nil {
		return false
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
				return false
			}
		} else if !slices.Contains(leaf.DNSNames, h) {
			return false
		}
	}
	return true
}

// defaultHosts is the SAN list of a generated server certificate.
func defaultHosts(extra []string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	h, err := os.Hostname()
	if err != nil {
		h = ""
	}
	for _, h := range append([]string{h}, extra...) {
		if h != "" && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// CAPEM returns the PEM certificates of the device CA, for devices to trust
// and for `thingo` to export.
func (a *Authority) CAPEM() []byte { return bytes.Clone(a.caPEM) }

// ServerCertificate returns the certificate of the TLS listeners.
func (a *Authority) ServerCertificate() tls.Certificate { return a.server }

// ClientCAs returns the pool that verifies device certificates.
func (a *Authority) ClientCAs() *x509.CertPool { return a.clientCAs.Clone() }

// TLSConfig returns a new TLS configuration for the MQTT over TLS and WSS
// listeners: TLS 1.2 or later, the server certificate, and optional client
// certificates verified against the CA (key devices connect without one,
// certificate devices present one).
func (a *Authority) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{a.server},
		ClientCAs:    a.clientCAs.Clone(),
		ClientAuth:   tls.VerifyClientCertIfGiven,
	}
}
