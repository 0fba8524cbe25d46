package tlspsk

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
)

// ClientHelloInfo is what PeekClientHello learned from a ClientHello.
type ClientHelloInfo struct {
	// Version is the client_version field (0x0303 for TLS 1.2 and 1.3 clients).
	Version uint16
	// ServerName is the SNI host name, if any.
	ServerName string
	// CipherSuites are the offered suites in client order.
	CipherSuites []uint16
}

// OffersPSK reports whether the client offers a suite this package implements.
func (h *ClientHelloInfo) OffersPSK() bool {
	return slices.ContainsFunc(h.CipherSuites, func(id uint16) bool { return suiteByID(id) != nil })
}

// PSKOnly reports whether the connection belongs to Server rather than to
// crypto/tls: the client offers a suite of this package and no suite that
// crypto/tls implements (Tencent's C SDK offers exactly 0x008C and 0x008D).
func (h *ClientHelloInfo) PSKOnly() bool {
	if !h.OffersPSK() {
		return false
	}
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, s := range list {
			if slices.Contains(h.CipherSuites, s.ID) {
				return false
			}
		}
	}
	return true
}

// PeekClientHello parses the ClientHello at the start of r without consuming
// any byte: it only calls r.Peek. Use a reader of at least
// PeekBufferSize bytes, so that any ClientHello fits:
//
//	br := bufio.NewReaderSize(conn, tlspsk.PeekBufferSize)
//	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
//	hello, err := tlspsk.PeekClientHello(br)
//	_ = conn.SetReadDeadline(time.Time{})
//	if err != nil { conn.Close(); return }
//	bc := tlspsk.NewBufferedConn(conn, br) // reads see the peeked bytes again
//	if hello.PSKOnly() {
//		c := tlspsk.Server(bc, pskConfig)
//		// ... c.Handshake(ctx), then c.ConnectionState().Identity
//	} else {
//		c := tls.Server(bc, certConfig)
//	}
//
// The ClientHello may span several handshake records. It returns
// ErrNotClientHello (wrapped) when the bytes are not a ClientHello, and the
// read error when the stream ends or fails first.
func PeekClientHello(r *bufio.Reader) (*ClientHelloInfo, error) {
	var hs []byte // concatenated handshake fragments
	off := 0
	for {
		hdr, err := r.Peek(off + recordHeaderLen)
		if err != nil {
			return nil, peekErr(err)
		}
		h := hdr[off:]
		n := int(h[3])<<8 | int(h[4])
		if h[0] != recordTypeHandshake || h[1] != 3 || n == 0 || n > maxPlaintext {
			return nil, fmt.Errorf("%w: record header % x", ErrNotClientHello, h)
		}
		rec, err := r.Peek(off + recordHeaderLen + n)
		if err != nil {
			return nil, peekErr(err)
		}
		hs = append(hs, rec[off+recordHeaderLen:]...)
		off += recordHeaderLen + n
		if len(hs) < 4 {
			continue
		}
		if hs[0] != typeClientHello {
			return nil, fmt.Errorf("%w: handshake type %d", ErrNotClientHello, hs[0])
		}
		mlen := int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3])
		if mlen > maxHandshakeLen {
			return nil, fmt.Errorf("%w: ClientHello of %d bytes", ErrNotClientHello, mlen)
		}
		if len(hs) < 4+mlen {
			continue
		}
		ch, err := parseClientHello(hs[4 : 4+mlen])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotClientHello, err)
		}
		return &ClientHelloInfo{Version: ch.vers, ServerName: ch.serverName, CipherSuites: ch.suites}, nil
	}
}

// PeekBufferSize is a bufio.Reader size that holds any ClientHello sent in
// one record (real clients send a few hundred bytes). A larger ClientHello
// makes PeekClientHello fail with bufio.ErrBufferFull (wrapped).
const PeekBufferSize = recordHeaderLen + maxPlaintext

func peekErr(err error) error {
	if err == bufio.ErrBufferFull {
		return fmt.Errorf("tlspsk: ClientHello larger than the peek buffer: %w", err)
	}
	return err
}

// NewBufferedConn returns conn with reads served from r's buffered bytes
// first, for handing a connection whose first bytes were peeked through r to
// Server or tls.Server. Once the buffered bytes are consumed, reads go to conn
// directly and r is released. Reads must not be concurrent (as with any TLS
// connection's underlying conn).
func NewBufferedConn(conn net.Conn, r *bufio.Reader) net.Conn {
	return &bufferedConn{Conn: conn, r: r}
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) {
	if b.r != nil {
		if b.r.Buffered() > 0 {
			return b.r.Read(p) // only returns buffered bytes, never reads conn
		}
		b.r = nil
	}
	return b.Conn.Read(p)
}
