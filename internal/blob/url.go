package blob

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of token verification.
var (
	ErrForged  = errors.New("blob: invalid link")
	ErrExpired = errors.New("blob: link expired")
)

// Kind is what a signed link allows.
type Kind byte

// Link kinds.
const (
	KindDownload Kind = 'd' // GET/HEAD of the object
	KindUpload   Kind = 'u' // PUT of the object
)

// MinKeyLen is the shortest accepted signing key.
const MinKeyLen = 32

// macLen is the truncated HMAC-SHA256 length in a token (128 bits).
const macLen = 16

// Signer makes and checks link tokens: one URL path segment carrying the
// kind, the expiry and the object key, authenticated with HMAC-SHA256.
type Signer struct {
	key []byte
}

// NewSigner returns a Signer over a secret of at least MinKeyLen bytes.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("blob: signing key must be at least %d bytes", MinKeyLen)
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

// Token returns the token allowing kind on key until expires.
func (s *Signer) Token(kind Kind, key string, expires time.Time) string {
	body := make([]byte, 0, 9+len(key))
	body = append(body, byte(kind))
	body = binary.BigEndian.AppendUint64(body, uint64(expires.Unix()))
	body = append(body, key...)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(body) + "." + enc.EncodeToString(s.mac(body))
}

func (s *Signer) mac(body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(body)
	return m.Sum(nil)[:macLen]
}

// Verify checks token and returns its kind and key. A token that does not
// authenticate is ErrForged; one past its expiry at now is ErrExpired.
func (s *Signer) Verify(token string, now time.Time) (Kind, string, error) {
	b64, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 2048 {
		return 0, "", ErrForged
	}
	enc := base64.RawURLEncoding
	body, err := enc.DecodeString(b64)
	if err != nil || len(body) < 10 {
		return 0, "", ErrForged
	}
	mac, err := enc.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.mac(body)) {
		return 0, "", ErrForged
	}
	kind := Kind(body[0])
	exp := int64(binary.BigEndian.Uint64(body[1:9]))
	if now.Unix() > exp {
		return kind, string(body[9:]), ErrExpired
	}
	return kind, string(body[9:]), nil
}
