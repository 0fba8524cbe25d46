package pki

import (
	"bytes"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExternalFiles(t *testing.T) {
	ext := t.TempDir()
	own := mustLoad(t, ext, Options{})

	// Given CA, generated server certificate: signed by the given CA and
	// stored in dir; the CA is not copied.
	dir := t.TempDir()
	a := mustLoad(t, dir, Options{CACertFile: filepath.Join(ext, CAFile), CAKeyFile: filepath.Join(ext, CAKeyFile)})
	if !bytes.Equal(a.CAPEM(), own.CAPEM()) {
		t.Error("given CA not used")
	}
	if _, err := os.Stat(filepath.Join(dir, CAFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("CA written to dir: %v", err)
	}
	if _, err := a.ServerCertificate().Leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: a.ClientCAs()}); err != nil {
		t.Errorf("server certificate not signed by the given CA: %v", err)
	}

	// A generated server certificate from a previous CA is replaced.
	b := mustLoad(t, dir, Options{})
	if _, err := b.ServerCertificate().Leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: b.ClientCAs()}); err != nil {
		t.Errorf("server certificate not re-created for the new CA: %v", err)
	}

	// Given server certificate: used as is, even if another CA signed it.
	c := mustLoad(t, t.TempDir(), Options{CertFile: filepath.Join(ext, ServerFile), KeyFile: filepath.Join(ext, ServerKeyFile)})
	if !bytes.Equal(c.ServerCertificate().Certificate[0], own.ServerCertificate().Certificate[0]) {
		t.Error("given server certificate not used")
	}
}

func TestLoadErrors(t *testing.T) {
	ext := t.TempDir()
	mustLoad(t, ext, Options{})
	garbage := filepath.Join(ext, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := func(name string) string { return filepath.Join(ext, name) }

	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) // prepares dir before LoadOrCreate
		o       Options
		wantIs  error
		wantMsg []string
	}{
		{"CA cert without key", nil, Options{CACertFile: f(CAFile)}, ErrOptions, nil},
		{"server key without cert", nil, Options{KeyFile: f(ServerKeyFile)}, ErrOptions, nil},
		{"missing CA file", nil, Options{CACertFile: f("nope.pem"), CAKeyFile: f(CAKeyFile)}, os.ErrNotExist, []string{"nope.pem"}},
		{"mismatched CA key", nil, Options{CACertFile: f(CAFile), CAKeyFile: f(ServerKeyFile)}, nil, []string{"CA", CAFile, ServerKeyFile, "does not match"}},
		{"server certificate as CA", nil, Options{CACertFile: f(ServerFile), CAKeyFile: f(ServerKeyFile)}, ErrNotCA, []string{ServerFile}},
		{"garbage CA", nil, Options{CACertFile: garbage, CAKeyFile: f(CAKeyFile)}, nil, []string{"garbage.pem"}},
		{"mismatched server key", nil, Options{CertFile: f(ServerFile), KeyFile: f(CAKeyFile)}, nil, []string{"server certificate", "does not match"}},
		{"CA key lost", func(t *testing.T, dir string) {
			mustLoad(t, dir, Options{})
			os.Remove(filepath.Join(dir, CAKeyFile))
		}, Options{}, nil, []string{"found", CAFile, "but not", CAKeyFile}},
		{"CA cert lost", func(t *testing.T, dir string) {
			mustLoad(t, dir, Options{})
			os.Remove(filepath.Join(dir, CAFile))
		}, Options{}, nil, []string{"found", CAKeyFile, "but not", CAFile}},
		{"corrupt server certificate", func(t *testing.T, dir string) {
			mustLoad(t, dir, Options{})
			os.WriteFile(filepath.Join(dir, ServerFile), []byte("junk"), 0o644)
		}, Options{}, nil, []string{"server certificate", "delete"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			_, err := LoadOrCreate(dir, tt.o)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}
