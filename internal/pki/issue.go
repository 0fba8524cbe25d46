package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
)

// deviceURNPrefix starts the URI SAN that names a device in its certificate:
// urn:thingo:device:{productID}:{path-escaped deviceName}.
const deviceURNPrefix = "thingo:device:"

// IssueDeviceCert creates a key pair and a client certificate for a device,
// signed by the CA. The certificate's CN is productID+deviceName, its OU the
// product ID, its subject serial number the device name, and a URI SAN
// urn:thingo:device:{productID}:{deviceName} names both; it is valid for
// client authentication for about ten years. The key is PKCS #8 PEM and is
// not kept.
func (a *Authority) IssueDeviceCert(productID, deviceName string) (certPEM, keyPEM string, err error) {
	if err := checkDevice(productID, deviceName); err != nil {
		return "", "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("pki: generate device key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return "", "", err
	}
	now := a.now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         productID + deviceName,
			OrganizationalUnit: []string{productID},
			SerialNumber:       deviceName,
		},
		URIs:        []*url.URL{deviceURN(productID, deviceName)},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(DeviceValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.ca.Leaf, key.Public(), a.ca.PrivateKey)
	if err != nil {
		return "", "", fmt.Errorf("pki: sign device certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("pki: encode device key: %w", err)
	}
	certPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	return certPEM, keyPEM, nil
}

// DeviceFromCert returns the device a certificate issued by IssueDeviceCert
// names. It does not verify the certificate: use it on certificates the TLS
// handshake verified against the CA.
func DeviceFromCert(c *x509.Certificate) (productID, deviceName string, ok bool) {
	if c == nil {
		return "", "", false
	}
	for _, u := range c.URIs {
		if u.Scheme != "urn" || !strings.HasPrefix(u.Opaque, deviceURNPrefix) {
			continue
		}
		pid, escaped, found := strings.Cut(strings.TrimPrefix(u.Opaque, deviceURNPrefix), ":")
		if !found {
			return "", "", false
		}
		dn, err := url.PathUnescape(escaped)
		if err != nil || checkDevice(pid, dn) != nil {
			return "", "", false
		}
		return pid, dn, true
	}
	s := c.Subject
	if len(s.OrganizationalUnit) == 1 && s.SerialNumber != "" && s.CommonName == s.OrganizationalUnit[0]+s.SerialNumber {
		if checkDevice(s.OrganizationalUnit[0], s.SerialNumber) == nil {
			return s.OrganizationalUnit[0], s.SerialNumber, true
		}
	}
	return "", "", false
}

func deviceURN(productID, deviceName string) *url.URL {
	return &url.URL{Scheme: "urn", Opaque: deviceURNPrefix + productID + ":" + url.PathEscape(deviceName)}
}

// checkDevice accepts product IDs of 1 to 64 letters, digits, '_' or '-' and
// device names of 1 to 128 characters without control characters or spaces.
func checkDevice(productID, deviceName string) error {
	if productID == "" || len(productID) > 64 {
		return fmt.Errorf("pki: product ID %q: %w", productID, ErrInvalidDevice)
	}
	for _, r := range productID {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("pki: product ID %q: %w", productID, ErrInvalidDevice)
		}
	}
	if deviceName == "" || len(deviceName) > 128 || strings.ContainsFunc(deviceName, func(r rune) bool {
		return unicode.IsControl(r) || unicode.IsSpace(r) || r == unicode.ReplacementChar
	}) {
		return fmt.Errorf("pki: device name %q: %w", deviceName, ErrInvalidDevice)
	}
	return nil
}

// createCAIfMissing creates a self-signed CA in certFile and keyFile unless
// both exist; exactly one of them existing is an error.
func createCAIfMissing(certFile, keyFile string, now time.Time) error {
	certExists, err := exists(certFile)
	if err != nil {
		return fmt.Errorf("pki: CA: %w", err)
	}
	keyExists, err := exists(keyFile)
	if err != nil {
		return fmt.Errorf("pki: CA: %w", err)
	}
	switch {
	case certExists && keyExists:
		return nil
	case certExists != keyExists:
		have, missing := certFile, keyFile
		if keyExists {
			have, missing = keyFile, certFile
		}
		return fmt.Errorf("pki: CA: found %s but not %s; restore it or remove both to create a new CA (device certificates issued by the old CA stop working)", have, missing)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("pki: generate CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Thingo Device CA", Organization: []string{"Thingo"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return fmt.Errorf("pki: create CA certificate: %w", err)
	}
	return writePair(certFile, keyFile, der, key)
}

// createServerCert creates a server certificate for hosts signed by the CA.
func (a *Authority) createServerCert(certFile, keyFile string, hosts []string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("pki: generate server key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return err
	}
	now := a.now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"Thingo"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(ServerValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.ca.Leaf, key.Public(), a.ca.PrivateKey)
	if err != nil {
		return fmt.Errorf("pki: create server certificate: %w", err)
	}
	return writePair(certFile, keyFile, der, key)
}

// writePair writes a certificate (0644) and its PKCS #8 key (0600), key first.
func writePair(certFile, keyFile string, der []byte, key crypto.Signer) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("pki: encode key: %w", err)
	}
	if err := writeFileAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return writeFileAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("pki: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	return nil
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("pki: serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}
