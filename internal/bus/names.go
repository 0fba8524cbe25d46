package bus

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidID is returned when a client id, product id or device name is
// empty or cannot be decoded.
var ErrInvalidID = errors.New("bus: invalid id")

// escapeChar starts an escape sequence in an encoded token. It is valid both
// in NATS subjects and in JetStream KV keys, and it is not part of the
// character set of product ids, device names or client ids, so ids made of
// that set are stored unchanged.
const escapeChar = '='

// tokenSafe reports whether b may appear unescaped in an encoded token.
// The set is the intersection of what NATS subjects and KV keys accept,
// minus the separator '.' and the escape character.
func tokenSafe(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	case b == '-' || b == '_':
		return true
	}
	return false
}

// encodeToken turns an arbitrary non-empty string into a single token that is
// valid as a NATS subject token and as a JetStream KV key segment. Bytes
// outside [A-Za-z0-9_-] become "=XX" (uppercase hex), so ':' is "=3A".
// The mapping is injective and reversed by decodeToken.
func encodeToken(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidID)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !tokenSafe(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s, nil
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if tokenSafe(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte(escapeChar)
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0x0f])
	}
	return b.String(), nil
}

// decodeToken reverses encodeToken. It rejects anything encodeToken cannot
// produce, so every accepted token decodes to exactly one id.
func decodeToken(t string) (string, error) {
	if t == "" {
		return "", fmt.Errorf("%w: empty token", ErrInvalidID)
	}
	if strings.IndexByte(t, escapeChar) < 0 {
		for i := 0; i < len(t); i++ {
			if !tokenSafe(t[i]) {
				return "", fmt.Errorf("%w: token %q", ErrInvalidID, t)
			}
		}
		return t, nil
	}
	var b strings.Builder
	b.Grow(len(t))
	for i := 0; i < len(t); i++ {
		c := t[i]
		if tokenSafe(c) {
			b.WriteByte(c)
			continue
		}
		if c != escapeChar || i+2 >= len(t) {
			return "", fmt.Errorf("%w: token %q", ErrInvalidID, t)
		}
		hi, ok1 := unhex(t[i+1])
		lo, ok2 := unhex(t[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("%w: token %q", ErrInvalidID, t)
		}
		v := hi<<4 | lo
		if tokenSafe(v) {
			// encodeToken never escapes a safe byte; accepting it would
			// give one id two encodings.
			return "", fmt.Errorf("%w: token %q", ErrInvalidID, t)
		}
		b.WriteByte(v)
		i += 2
	}
	return b.String(), nil
}

// unhex decodes one uppercase hex digit, the only form encodeToken writes.
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// DownlinkSubject is the NATS subject carrying downlink messages for one
// device: "thingo.down.<pid>.<dn>". Characters outside [A-Za-z0-9_-] are
// escaped as "=XX" so the result is always exactly four tokens; an empty
// pid or dn yields an empty token and therefore an invalid subject, which
// callers validate before publishing.
func DownlinkSubject(pid, dn string) string {
	p, _ := encodeToken(pid)
	d, _ := encodeToken(dn)
	return "thingo.down." + p + "." + d
}
