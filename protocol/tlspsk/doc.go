// Package tlspsk implements the server and client sides of TLS 1.2 with
// pre-shared keys (RFC 4279 plain PSK key exchange) on top of Go's standard
// cryptographic primitives.
//
// Go's crypto/tls has no PSK support, yet Tencent's C SDK in "TLS + key" mode
// authenticates devices only with TLS-PSK: it offers TLS_PSK_WITH_AES_128_CBC_SHA
// and TLS_PSK_WITH_AES_256_CBC_SHA over TLS 1.2, with the PSK identity
// "{productID}{deviceName}" and the base64-decoded device secret as the key.
// This package speaks exactly that dialect, plus the RFC 5487 GCM PSK suites.
//
// Supported: TLS 1.2 only (RFC 5246), full handshakes only (no session
// resumption, no renegotiation: RFC 5746 secure renegotiation is signalled and
// every renegotiation attempt is refused with a no_renegotiation alert),
// extended master secret (RFC 7627), server name indication (RFC 6066), the
// null compression method only. CBC records are checked in constant time in
// the way crypto/tls does it (Lucky13 mitigation).
//
// A listener that must serve certificate TLS and TLS-PSK on one port reads the
// first bytes through a bufio.Reader, calls PeekClientHello (which only peeks)
// and hands the connection, wrapped so that reads go through the same
// bufio.Reader, either to Server or to crypto/tls; see PeekClientHello and
// NewBufferedConn.
package tlspsk
