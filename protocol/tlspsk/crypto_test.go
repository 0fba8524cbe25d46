package tlspsk

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"strings"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPRF checks the TLS 1.2 PRF against the widely used vectors published on
// the IETF TLS mailing list (msg03416).
func TestPRF(t *testing.T) {
	tests := []struct {
		name               string
		h                  func() hash.Hash
		secret, seed, want string
	}{
		{
			"SHA256", sha256.New, "9bbe436ba940f017b17652849a71db35", "a0ba9f936cda311827a6f796ffd5198c",
			"e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66",
		},
		{
			"SHA384", sha512.New384, "b80b733d6ceefcdc71566ea48e5567df", "cd665cf6a8447dd6ff8b27555edb7465",
			"7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d9184259b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee691c8f3a26854308d5eaa3be85e0990703d73e56f",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.want)
			got := prf12(tt.h, unhex(t, tt.secret), "test label", unhex(t, tt.seed), len(want))
			if !bytes.Equal(got, want) {
				t.Errorf("PRF = %x\nwant  %x", got, want)
			}
		})
	}
}

func TestPSKPremaster(t *testing.T) {
	got := pskPremaster([]byte{0xaa, 0xbb})
	want := []byte{0, 2, 0, 0, 0, 2, 0xaa, 0xbb}
	if !bytes.Equal(got, want) {
		t.Errorf("premaster = %x, want %x", got, want)
	}
}

func TestExtractPadding(t *testing.T) {
	tests := []struct {
		name     string
		payload  []byte
		toRemove int
		good     byte
	}{
		{"one byte of padding", []byte{1, 2, 3, 0}, 1, 255},
		{"three bytes", []byte{9, 2, 2, 2}, 3, 255},
		{"bad padding byte", []byte{9, 2, 1, 2}, 1, 0},
		{"padding longer than payload", []byte{5, 5}, 1, 0},
		{"empty", nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, good := extractPadding(tt.payload)
			if n != tt.toRemove || good != tt.good {
				t.Errorf("extractPadding = %d, %d; want %d, %d", n, good, tt.toRemove, tt.good)
			}
		})
	}
}

// TestRecordRoundTrip seals and opens records of every size class for every suite.
func TestRecordRoundTrip(t *testing.T) {
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			seal, open := testProtection(t, &s), testProtection(t, &s)
			for _, n := range []int{0, 1, 15, 16, 31, 1000, maxPlaintext} {
				msg := bytes.Repeat([]byte{byte(n)}, n)
				rec := seal.seal(nil, recordTypeApplicationData, msg)
				if len(rec)-recordHeaderLen > maxCiphertext {
					t.Fatalf("record of %d bytes exceeds the ciphertext limit", len(rec))
				}
				got, a, ok := open.open(rec[0], rec[recordHeaderLen:])
				if !ok || !bytes.Equal(got, msg) {
					t.Fatalf("size %d: open failed (%v)", n, a)
				}
			}
			// A replayed record fails: the sequence number is authenticated.
			rec := seal.seal(nil, recordTypeApplicationData, []byte("once"))
			replay := append([]byte{}, rec...)
			if _, _, ok := open.open(rec[0], rec[recordHeaderLen:]); !ok {
				t.Fatal("open failed")
			}
			if _, a, ok := open.open(replay[0], replay[recordHeaderLen:]); ok || a != AlertBadRecordMAC {
				t.Fatalf("replayed record: ok %v alert %v", ok, a)
			}
		})
	}
}

func testProtection(t testing.TB, s *suite) *protection {
	t.Helper()
	kb := deriveKeys(s, bytes.Repeat([]byte{7}, masterSecretLen), make([]byte, 32), make([]byte, 32))
	p, err := newProtection(s, kb.clientKey, kb.clientMAC, kb.clientIV)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
