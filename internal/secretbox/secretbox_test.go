package secretbox

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestSealOpen(t *testing.T) {
	box, err := New(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(bytes.Repeat([]byte{8}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		plain []byte
	}{
		{"empty", nil},
		{"psk", []byte("lDZ6Uqt+I9E0wW7rvDUs7Q==")},
		{"binary", bytes.Repeat([]byte{0, 255}, 300)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s1, err := box.Seal(tt.plain)
			if err != nil {
				t.Fatal(err)
			}
			s2, _ := box.Seal(tt.plain)
			if bytes.Equal(s1, s2) {
				t.Error("two seals are equal: nonce not random")
			}
			got, err := box.Open(s1)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.plain) {
				t.Errorf("Open = %q, want %q", got, tt.plain)
			}
			if _, err := other.Open(s1); !errors.Is(err, ErrOpen) {
				t.Errorf("Open with other key: err = %v, want ErrOpen", err)
			}
			tampered := bytes.Clone(s1)
			tampered[len(tampered)-1] ^= 1
			if _, err := box.Open(tampered); !errors.Is(err, ErrOpen) {
				t.Errorf("Open tampered: err = %v, want ErrOpen", err)
			}
		})
	}
	if _, err := box.Open([]byte("short")); !errors.Is(err, ErrMalformed) {
		t.Errorf("Open short: err = %v, want ErrMalformed", err)
	}
}

func TestNewKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := New(make([]byte, n)); !errors.Is(err, ErrKeySize) {
			t.Errorf("New(%d bytes): err = %v, want ErrKeySize", n, err)
		}
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "secret.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != KeySize {
		t.Fatalf("key length %d", len(k1))
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
		}
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) {
		t.Error("second load returned a different key")
	}

	bad := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(bad, []byte("nothex"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(bad); !errors.Is(err, ErrKeyFile) {
		t.Errorf("bad key file: err = %v, want ErrKeyFile", err)
	}
}
