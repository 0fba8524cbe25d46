package broker

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"time"

	"github.com/thingo-iot/thingo/protocol/tlspsk"
)

// PSKKeys looks up the TLS-PSK key of a device for the TLS listener (Tencent
// "TLS + key" devices, PROTOCOL.md §13.2). The identity is the
// "{productID}{deviceName}" the device sent in its handshake; the key is the
// base64-decoded device secret. Return an error wrapping
// tlspsk.ErrUnknownIdentity for an unknown, disabled or certificate device:
// the handshake then fails with the unknown_psk_identity alert. Any other
// error fails it with internal_error.
type PSKKeys interface {
	PSKKey(ctx context.Context, identity string) ([]byte, error)
}

// PSKMaxRecordSize caps the records the broker sends to TLS-PSK devices:
// small mbedTLS builds cannot receive full 16 KiB records.
const PSKMaxRecordSize = 2048

// Bounds of lingerClose.
const (
	lingerTimeout  = 2 * time.Second
	lingerMaxBytes = 64 * 1024
)

// pskConn is a TLS-PSK connection handed to mochi. The broker's CONNECT hook
// finds the handshake's identity through PSKIdentity.
type pskConn struct {
	*tlspsk.Conn
	identity string
}

// PSKIdentity returns the PSK identity the device authenticated with.
func (c *pskConn) PSKIdentity() string { return c.identity }

// pskConfig builds the TLS-PSK server configuration of the TLS listener.
func pskConfig(keys PSKKeys, timeout time.Duration, log *slog.Logger) *tlspsk.Config {
	return &tlspsk.Config{
		GetKey: func(ctx context.Context, identity string) ([]byte, error) {
			key, err := keys.PSKKey(ctx, identity)
			if err != nil && !errors.Is(err, tlspsk.ErrUnknownIdentity) {
				log.Warn("tls-psk key lookup failed", "identity", identity, "error", err)
			}
			return key, err
		},
		HandshakeTimeout: timeout,
		MaxRecordSize:    PSKMaxRecordSize,
	}
}

// wantsPSK reports whether a ClientHello belongs to the TLS-PSK server: it
// offers a PSK suite and no suite crypto/tls could use for a TLS 1.2 (or
// older) certificate handshake. Tencent's C SDK offers exactly the two
// PSK-CBC suites. TLS 1.3 suites do not count: OpenSSL lists them whatever
// the PSK setup (mosquitto_pub --psk --tls-version tlsv1.2 offers 0x1301 to
// 0x1303 before the PSK suites), so tlspsk's PSKOnly would send such a client
// to certificate TLS, where its password-less CONNECT is refused. A client
// that offers certificate suites too (OpenSSL's default cipher list) gets
// certificate TLS: old mbedTLS builds list PSK suites even on certificate
// devices.
func wantsPSK(h *tlspsk.ClientHelloInfo) bool {
	if !h.OffersPSK() {
		return false
	}
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, s := range list {
			if slices.Contains(h.CipherSuites, s.ID) && !slices.Equal(s.SupportedVersions, []uint16{tls.VersionTLS13}) {
				return false
			}
		}
	}
	return true
}

// secure runs the TLS handshake of an accepted connection whose deadline is
// already set. With TLS-PSK enabled it peeks at the ClientHello first: a
// hello offering only PSK suites goes to the TLS-PSK server, any other to
// crypto/tls. The returned connection's deadline is the given one again.
func (l *streamListener) secure(ctx context.Context, c net.Conn, deadline time.Time) (net.Conn, error) {
	if l.psk == nil {
		tc := tls.Server(c, l.tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		return tc, nil
	}
	br := bufio.NewReaderSize(c, tlspsk.PeekBufferSize)
	hello, err := tlspsk.PeekClientHello(br)
	if err != nil {
		return nil, fmt.Errorf("peek ClientHello: %w", err)
	}
	bc := tlspsk.NewBufferedConn(c, br)
	if !wantsPSK(hello) {
		tc := tls.Server(bc, l.tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		return tc, nil
	}
	pc := tlspsk.Server(bc, l.psk)
	hctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if err := pc.Handshake(hctx); err != nil {
		return nil, fmt.Errorf("tls-psk handshake: %w", err)
	}
	// Handshake clears the deadline; the CONNECT stays bounded.
	if err := c.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("tls-psk: set deadline: %w", err)
	}
	return &pskConn{Conn: pc, identity: pc.ConnectionState().Identity}, nil
}

// lingerClose closes a connection whose handshake failed so that the client
// reads the alert sent: closing a socket with unread bytes (the rest of the
// client's flight) resets the connection, and the client then sees a broken
// pipe or a reset instead of, say, unknown_psk_identity. It half-closes,
// drains what the client still sends for a bounded time, then closes.
func lingerClose(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(lingerTimeout))
		_, _ = io.Copy(io.Discard, io.LimitReader(c, lingerMaxBytes))
	}
	_ = c.Close()
}
