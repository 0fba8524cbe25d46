package gateway

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strings"
)

// Sign methods and auth types of a bind request (PROTOCOL.md §8).
const (
	SignHMACSHA1   = "hmacsha1"
	SignHMACSHA256 = "hmacsha256"
	AuthPSK        = "psk"
	AuthCert       = "certificate"
)

func newHash(method string) func() hash.Hash {
	switch strings.ToLower(method) {
	case SignHMACSHA1:
		return sha1.New
	case SignHMACSHA256:
		return sha256.New
	}
	return nil
}

// CertKeys are the keys a certificate sub-device may sign with: the
// lowercase hex MD5 of its certificate file (what the SDKs use) and the
// hex SHA-1 (what the guide says).
func CertKeys(certPEM string) []string {
	m := md5.Sum([]byte(certPEM))
	s := sha1.Sum([]byte(certPEM))
	return []string{hex.EncodeToString(m[:]), hex.EncodeToString(s[:])}
}

// verifySignature reports whether signature is a valid bind signature of
// text under one of keys.
func verifySignature(keys []string, text, method, signature string) bool {
	got, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return false
	}
	h := newHash(method)
	for _, k := range keys {
		m := hmac.New(h, []byte(k))
		m.Write([]byte(text))
		if hmac.Equal(m.Sum(nil), got) {
			return true
		}
	}
	return false
}
