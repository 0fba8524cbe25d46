package tlspsk

import (
	"context"
	"errors"
	"time"
)

// Cipher suites implemented by this package (IANA values).
const (
	TLS_PSK_WITH_AES_128_CBC_SHA    uint16 = 0x008C // RFC 4279
	TLS_PSK_WITH_AES_256_CBC_SHA    uint16 = 0x008D // RFC 4279
	TLS_PSK_WITH_AES_128_GCM_SHA256 uint16 = 0x00A8 // RFC 5487
	TLS_PSK_WITH_AES_256_GCM_SHA384 uint16 = 0x00A9 // RFC 5487
)

// VersionTLS12 is the only protocol version this package speaks.
const VersionTLS12 uint16 = 0x0303

// DefaultHandshakeTimeout bounds a server handshake when Config.HandshakeTimeout is zero.
const DefaultHandshakeTimeout = 10 * time.Second

// Sentinel errors.
var (
	// ErrUnknownIdentity is returned (possibly wrapped) by a GetKey callback
	// when the PSK identity is not known. The server then answers with the
	// unknown_psk_identity alert (or decrypt_error when
	// Config.HideUnknownIdentity is set).
	ErrUnknownIdentity = errors.New("tlspsk: unknown PSK identity")
	// ErrNotClientHello is returned by PeekClientHello when the stream does
	// not start with a TLS handshake record carrying a ClientHello.
	ErrNotClientHello = errors.New("tlspsk: not a TLS ClientHello")
	// ErrHandshakeTimeout is returned when a handshake does not complete in time.
	ErrHandshakeTimeout = errors.New("tlspsk: handshake timed out")
	// ErrNoCommonSuite is returned when client and server share no cipher suite.
	ErrNoCommonSuite = errors.New("tlspsk: no cipher suite in common")
	// ErrConfig reports an unusable Config or ClientConfig.
	ErrConfig = errors.New("tlspsk: invalid configuration")
)

// Config configures the server side of a connection.
type Config struct {
	// GetKey returns the pre-shared key for a PSK identity. It is called once
	// per handshake with the handshake's context. Return an error wrapping
	// ErrUnknownIdentity for an unknown identity (the client receives the
	// unknown_psk_identity alert); any other error aborts the handshake with
	// an internal_error alert. Required.
	GetKey func(ctx context.Context, identity string) ([]byte, error)
	// IdentityHint, when not empty, is sent in a ServerKeyExchange message.
	IdentityHint string
	// HandshakeTimeout bounds the whole handshake (default 10 s). The deadline
	// of the context passed to Handshake applies too, whichever is earlier.
	HandshakeTimeout time.Duration
	// CipherSuites lists the acceptable suites in server preference order.
	// Empty means all suites of this package, GCM first.
	CipherSuites []uint16
	// MaxRecordSize caps the plaintext bytes per record the server sends;
	// 0 means the TLS maximum of 16384. Small mbedTLS builds cannot receive
	// larger records than their MBEDTLS_SSL_MAX_CONTENT_LEN (Tencent's
	// IoT Hub C SDK v4 PSK configuration uses 3584) unless they negotiate
	// max_fragment_length (RFC 6066), which the server honours.
	MaxRecordSize int
	// HideUnknownIdentity makes an unknown identity indistinguishable from a
	// wrong key: the handshake continues with a random key and fails at the
	// client's Finished (RFC 4279 §2 alternative behaviour).
	HideUnknownIdentity bool
}

// ClientConfig configures the client side of a connection.
type ClientConfig struct {
	// Identity is the PSK identity sent in ClientKeyExchange, for Tencent
	// devices "{productID}{deviceName}".
	Identity string
	// Key is the pre-shared key, for Tencent devices the base64-decoded device secret.
	Key []byte
	// ServerName is sent as SNI when not empty.
	ServerName string
	// CipherSuites lists the offered suites in preference order. Empty means
	// all suites of this package, GCM first.
	CipherSuites []uint16
	// HandshakeTimeout bounds the handshake when not zero.
	HandshakeTimeout time.Duration
}

// ConnectionState describes a completed handshake.
type ConnectionState struct {
	// HandshakeComplete is true once the handshake succeeded.
	HandshakeComplete bool
	// Identity is the PSK identity the client presented.
	Identity string
	// IdentityHint is the hint the server sent (client side), if any.
	IdentityHint string
	// ServerName is the SNI host name the client sent.
	ServerName string
	// CipherSuite is the negotiated suite.
	CipherSuite uint16
	// ExtendedMasterSecret reports whether RFC 7627 was negotiated.
	ExtendedMasterSecret bool
}

// defaultSuites is the preference order used when none is configured.
var defaultSuites = []uint16{
	TLS_PSK_WITH_AES_128_GCM_SHA256,
	TLS_PSK_WITH_AES_256_GCM_SHA384,
	TLS_PSK_WITH_AES_128_CBC_SHA,
	TLS_PSK_WITH_AES_256_CBC_SHA,
}

// CipherSuiteName returns the IANA name of a suite of this package, or a hex form.
func CipherSuiteName(id uint16) string {
	if s := suiteByID(id); s != nil {
		return s.name
	}
	return "0x" + hex4(id)
}

func hex4(v uint16) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[v>>12], digits[v>>8&0xf], digits[v>>4&0xf], digits[v&0xf]})
}
