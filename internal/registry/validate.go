package registry

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/thingo-iot/thingo/protocol"
)

// Limits of names and secrets.
const (
	MaxDeviceNameLen  = protocol.MaxDeviceNameLen
	MaxProductNameLen = 32 // runes
	MaxProjectNameLen = 64 // runes
	MaxDescLen        = 512
	MaxTopicNameLen   = 64
	MaxTopicPolicies  = 50 // per product
	MinPSKBytes       = 8
	MaxPSKBytes       = 64
	productIDLen      = protocol.ProductIDLen
	pskBytes          = 16
)

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// isNameByte reports whether c may appear in a device name.
func isNameByte(c byte) bool { return protocol.ValidDeviceName(string(c)) }

// ValidDeviceName reports whether name matches [a-zA-Z0-9:_-]{1,48}.
func ValidDeviceName(name string) bool { return protocol.ValidDeviceName(name) }

// ValidProductID reports whether id looks like a product id: 10 upper-case
// letters or digits.
func ValidProductID(id string) bool { return protocol.ValidProductID(id) }

// validProductName accepts Tencent's documented [a-zA-Z0-9:_-]{1,32} and,
// leniently, any Unicode letter or digit (the console accepts Chinese
// product names); the limit is 32 runes.
func validProductName(name string) error {
	n := utf8.RuneCountInString(name)
	if n == 0 || n > MaxProductNameLen || !utf8.ValidString(name) {
		return invalid("ProductName", "must be 1 to %d characters", MaxProductNameLen)
	}
	for _, r := range name {
		if r < utf8.RuneSelf && isNameByte(byte(r)) || r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			continue
		}
		return invalid("ProductName", "character %q not allowed; use letters, digits, ':', '_' and '-'", r)
	}
	return nil
}

// validText checks a free-text field: valid UTF-8, no control characters,
// at most max runes, and non-empty when required.
func validText(field, s string, max int, required bool) error {
	if !utf8.ValidString(s) {
		return invalid(field, "not valid UTF-8")
	}
	n := utf8.RuneCountInString(s)
	if required && strings.TrimSpace(s) == "" {
		return invalid(field, "must not be empty")
	}
	if n > max {
		return invalid(field, "longer than %d characters", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return invalid(field, "contains control characters")
		}
	}
	return nil
}

// validTopicName checks the custom part of a topic `{pid}/{dn}/<name>`:
// 1..64 characters of [a-zA-Z0-9_-] in non-empty levels separated by '/'.
func validTopicName(field, name string) error {
	if name == "" || len(name) > MaxTopicNameLen {
		return invalid(field, "must be 1 to %d characters", MaxTopicNameLen)
	}
	for level := range strings.SplitSeq(name, "/") {
		if level == "" {
			return invalid(field, "empty topic level")
		}
		for i := 0; i < len(level); i++ {
			c := level[i]
			if c == ':' || !isNameByte(c) {
				return invalid(field, "character %q not allowed; use letters, digits, '_', '-' and '/'", c)
			}
		}
	}
	return nil
}

// checkPSK validates a user-defined PSK: standard base64 of 8 to 64 bytes.
func checkPSK(psk string) error {
	raw, err := base64.StdEncoding.DecodeString(psk)
	if err != nil {
		return invalid("DefinedPsk", "must be standard base64")
	}
	if len(raw) < MinPSKBytes || len(raw) > MaxPSKBytes {
		return invalid("DefinedPsk", "must encode %d to %d bytes, got %d", MinPSKBytes, MaxPSKBytes, len(raw))
	}
	return nil
}

func newPSK() (string, error) {
	b := make([]byte, pskBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate psk: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

func randomString(alphabet string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	// 256 % 36 != 0 leaves a slight bias; ids need uniqueness, not uniformity.
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

func newProductID() (string, error) { return randomString(idAlphabet, productIDLen) }

func newProjectID() (string, error) {
	s, err := randomString("abcdefghijklmnopqrstuvwxyz0123456789", 12)
	if err != nil {
		return "", err
	}
	return "prj-" + s, nil
}
