package protocol

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	"strconv"
	"strings"
	"time"
)

// Sign methods of the password (PROTOCOL.md §1.1).
const (
	MethodHMACSHA1   = "hmacsha1"
	MethodHMACSHA256 = "hmacsha256"
)

// DefaultSDKAppID is the sdkappid the device guide prescribes.
const DefaultSDKAppID = "12010126"

// Limits of the username fields.
const (
	MaxConnIDLen   = 32
	maxSDKAppIDLen = 20
	maxExpiryLen   = 40
)

// Expiry thresholds of the username's 4th field (PROTOCOL.md §13.1).
const (
	// MillisThreshold: a 4th field above it is a signing time in
	// milliseconds (Python SDK), accepted without an expiry check.
	MillisThreshold = 1_000_000_000_000
	// NeverExpires is 0x7fffffff, which the Java SDK sends for "no expiry";
	// it is honoured as such rather than as a date in 2038.
	NeverExpires = math.MaxInt32
)

// Errors of credential parsing and checking. Those a device can cause wrap
// ErrBadUsernameOrPassword (CONNACK 0x04).
var (
	ErrMalformedUsername = fmt.Errorf("malformed username: %w", ErrBadUsernameOrPassword)
	ErrMalformedPassword = fmt.Errorf("malformed password: %w", ErrBadUsernameOrPassword)
	ErrUnsupportedMethod = fmt.Errorf("unsupported sign method: %w", ErrBadUsernameOrPassword)
	ErrBadSignature      = fmt.Errorf("signature mismatch: %w", ErrBadUsernameOrPassword)
	ErrExpired           = fmt.Errorf("username expired: %w", ErrBadUsernameOrPassword)
	// ErrClientIDMismatch: the client id is not the `{pid}{dn}` of the
	// username (CONNACK 0x02).
	ErrClientIDMismatch = fmt.Errorf("client id does not match the username: %w", ErrIdentifierRejected)
	// ErrBadSecret: the device secret is not valid base64.
	ErrBadSecret = errors.New("device secret is not base64")
)

// Username is a parsed MQTT username `{pid}{dn};{sdkappid};{connid};{expiry}`.
type Username struct {
	ProductID  string
	DeviceName string
	SDKAppID   string // any decimal
	ConnID     string // 1 to 32 of [A-Za-z0-9_-], maybe with a trailing NUL
	// Expiry is the numeric 4th field: an expiry in unix seconds, or a
	// signing time in milliseconds above MillisThreshold. Values too large
	// for uint64 are stored as math.MaxUint64.
	Expiry uint64
}

// ParseUsername parses and validates a username. It does not check expiry;
// see Username.Expired.
func ParseUsername(s string) (Username, error) {
	parts := strings.Split(s, ";")
	if len(parts) != 4 {
		return Username{}, fmt.Errorf("%w: want 4 fields separated by ';', got %d", ErrMalformedUsername, len(parts))
	}
	pid, dn, ok := SplitClientID(parts[0])
	if !ok {
		return Username{}, fmt.Errorf("%w: client part %q is not {product id}{device name}", ErrMalformedUsername, parts[0])
	}
	u := Username{ProductID: pid, DeviceName: dn, SDKAppID: parts[1], ConnID: parts[2]}
	if !isDigits(u.SDKAppID, maxSDKAppIDLen) {
		return Username{}, fmt.Errorf("%w: sdkappid %q is not decimal", ErrMalformedUsername, u.SDKAppID)
	}
	if !validConnID(u.ConnID) {
		return Username{}, fmt.Errorf("%w: bad connid %q", ErrMalformedUsername, u.ConnID)
	}
	if !isDigits(parts[3], maxExpiryLen) {
		return Username{}, fmt.Errorf("%w: 4th field %q is not decimal", ErrMalformedUsername, parts[3])
	}
	v, err := strconv.ParseUint(parts[3], 10, 64)
	if err != nil { // only range errors remain: huge means never expires
		v = math.MaxUint64
	}
	u.Expiry = v
	return u, nil
}

// ClientID returns `{pid}{dn}`, the client id the username names.
func (u Username) ClientID() string { return u.ProductID + u.DeviceName }

// CheckClientID returns ErrClientIDMismatch unless clientID is the
// `{pid}{dn}` the username names.
func (u Username) CheckClientID(clientID string) error {
	if clientID != u.ClientID() {
		return fmt.Errorf("%w: client id %q, username names %q", ErrClientIDMismatch, clientID, u.ClientID())
	}
	return nil
}

// String builds the username.
func (u Username) String() string {
	return u.ProductID + u.DeviceName + ";" + u.SDKAppID + ";" + u.ConnID + ";" + strconv.FormatUint(u.Expiry, 10)
}

// Expired applies PROTOCOL.md §13.1: a 4th field above MillisThreshold is a
// millisecond signing time (accepted), NeverExpires never expires, anything
// else is an expiry in unix seconds that must not be before now.
func (u Username) Expired(now time.Time) bool {
	if u.Expiry > MillisThreshold || u.Expiry == NeverExpires {
		return false
	}
	return int64(u.Expiry) < now.Unix()
}

// SignPassword returns the password `{hex token};{method}` for username,
// token = HMAC-method(key = base64-decode(psk), username exactly as given).
func SignPassword(psk, username, method string) (string, error) {
	key, err := decodePSK(psk)
	if err != nil {
		return "", err
	}
	mac, err := sign(key, username, method)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(mac) + ";" + method, nil
}

// VerifyPassword checks password against username and the device secret in
// constant time and returns the sign method used.
func VerifyPassword(psk, username string, password []byte) (method string, err error) {
	token, method, err := parsePassword(password)
	if err != nil {
		return "", err
	}
	key, err := decodePSK(psk)
	if err != nil {
		return "", err
	}
	want, err := sign(key, username, method)
	if err != nil {
		return "", err
	}
	if !hmac.Equal(token, want) {
		return "", ErrBadSignature
	}
	return method, nil
}

// parsePassword splits `{hex token};{method}`.
func parsePassword(password []byte) (token []byte, method string, err error) {
	tok, m, ok := strings.Cut(string(password), ";")
	if !ok {
		return nil, "", fmt.Errorf("%w: no ';method' suffix", ErrMalformedPassword)
	}
	if _, err := newHash(m); err != nil {
		return nil, "", err
	}
	token, err = hex.DecodeString(tok)
	if err != nil {
		return nil, "", fmt.Errorf("%w: token is not hex", ErrMalformedPassword)
	}
	return token, m, nil
}

func decodePSK(psk string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(psk)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSecret, err)
	}
	return key, nil
}

func newHash(method string) (func() hash.Hash, error) {
	switch method {
	case MethodHMACSHA1:
		return sha1.New, nil
	case MethodHMACSHA256:
		return sha256.New, nil
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedMethod, method)
	}
}

func sign(key []byte, msg, method string) ([]byte, error) {
	h, err := newHash(method)
	if err != nil {
		return nil, err
	}
	m := hmac.New(h, key)
	m.Write([]byte(msg))
	return m.Sum(nil), nil
}

// DeviceCredentials returns the MQTT client id, username and password of a
// key device: sdkappid DefaultSDKAppID, a random 5-character connid, and
// expiry as unix seconds (the zero time means NeverExpires).
func DeviceCredentials(pid, dn, psk, method string, expiry time.Time) (clientID, username, password string, err error) {
	if !ValidProductID(pid) || !ValidDeviceName(dn) {
		return "", "", "", fmt.Errorf("invalid product id %q or device name %q", pid, dn)
	}
	exp := uint64(NeverExpires)
	if !expiry.IsZero() {
		if expiry.Unix() < 0 {
			return "", "", "", fmt.Errorf("expiry %v before 1970", expiry)
		}
		exp = uint64(expiry.Unix())
	}
	u := Username{ProductID: pid, DeviceName: dn, SDKAppID: DefaultSDKAppID, ConnID: randomConnID(5), Expiry: exp}
	username = u.String()
	password, err = SignPassword(psk, username, method)
	if err != nil {
		return "", "", "", err
	}
	return u.ClientID(), username, password, nil
}

const connIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomConnID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = connIDAlphabet[int(b[i])%len(connIDAlphabet)]
	}
	return string(b)
}

func isDigits(s string, maxLen int) bool {
	if len(s) == 0 || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validConnID accepts 1 to 32 of [A-Za-z0-9_-], optionally followed by one
// NUL: the C# sample of the device guide (and older C SDKs) put the
// terminator of a 6-byte buffer into the username.
func validConnID(s string) bool {
	s = strings.TrimSuffix(s, "\x00")
	if len(s) == 0 || len(s) > MaxConnIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
