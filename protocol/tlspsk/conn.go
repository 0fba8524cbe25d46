package tlspsk

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// maxUselessRecords bounds consecutive records that carry no application
// data (empty records, warnings, refused renegotiations), as crypto/tls does.
const maxUselessRecords = 16

// readBufferSize is the size of the read buffer in front of the network
// connection; records larger than it are read straight into their own buffer.
const readBufferSize = 2048

// Conn is a TLS 1.2 PSK connection. It implements net.Conn. The handshake
// runs on the first Read or Write, or explicitly with Handshake.
type Conn struct {
	conn     net.Conn
	isClient bool
	srv      *Config
	cli      *ClientConfig

	hsMu   sync.Mutex
	hsDone atomic.Bool
	hsErr  error
	state  ConnectionState // written under hsMu before hsDone is set

	inMu    sync.Mutex
	br      *bufio.Reader
	in      *protection
	hsBuf   []byte // unconsumed handshake bytes
	rbuf    []byte // record payload buffer, reused once appBuf is drained
	appBuf  []byte // unread application data
	readErr error
	vers    uint16 // record version once negotiated, 0 before

	outMu    sync.Mutex
	out      *protection
	writeErr error
	outBuf   []byte
	// maxFragment caps the plaintext per record (maxPlaintext when zero);
	// tests lower it to exercise fragmented handshake messages.
	maxFragment int

	closed atomic.Bool
}

var _ net.Conn = (*Conn)(nil)

// Server returns the server side of a TLS-PSK connection over conn.
// cfg must not be modified afterwards.
func Server(conn net.Conn, cfg *Config) *Conn {
	return &Conn{conn: conn, srv: cfg, br: bufio.NewReaderSize(conn, readBufferSize)}
}

// Client returns the client side of a TLS-PSK connection over conn.
// cfg must not be modified afterwards.
func Client(conn net.Conn, cfg *ClientConfig) *Conn {
	return &Conn{conn: conn, cli: cfg, isClient: true, br: bufio.NewReaderSize(conn, readBufferSize)}
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.conn }

// ConnectionState returns the negotiated parameters; HandshakeComplete is
// false until the handshake succeeded.
func (c *Conn) ConnectionState() ConnectionState {
	if !c.hsDone.Load() {
		return ConnectionState{}
	}
	return c.state
}

// Handshake runs the handshake if it has not run yet. The handshake is
// bounded by ctx and by the configured HandshakeTimeout; it sets and then
// clears the deadline of the underlying connection.
func (c *Conn) Handshake(ctx context.Context) error {
	c.hsMu.Lock()
	defer c.hsMu.Unlock()
	if c.hsErr != nil {
		return c.hsErr
	}
	if c.hsDone.Load() {
		return nil
	}
	c.hsErr = c.handshake(ctx)
	if c.hsErr == nil {
		c.hsDone.Store(true)
	}
	return c.hsErr
}

func (c *Conn) handshake(ctx context.Context) error {
	if err := c.checkConfig(); err != nil {
		return err
	}
	timeout := DefaultHandshakeTimeout
	if c.isClient {
		timeout = c.cli.HandshakeTimeout
	} else if c.srv.HandshakeTimeout > 0 {
		timeout = c.srv.HandshakeTimeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(dl)
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = c.conn.SetDeadline(time.Unix(1, 0)) // interrupt blocked I/O
		close(fired)
	})

	c.inMu.Lock()
	c.outMu.Lock()
	var err error
	if c.isClient {
		err = c.clientHandshake(ctx)
	} else {
		err = c.serverHandshake(ctx)
	}
	c.outMu.Unlock()
	c.inMu.Unlock()

	if !stop() {
		<-fired
	}
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(ctx.Err(), context.Canceled):
			err = fmt.Errorf("tlspsk: handshake: %w: %w", ctx.Err(), err)
		case ctx.Err() != nil || errors.As(err, &ne) && ne.Timeout():
			// The connection deadline is the context's: a timeout is ours.
			err = fmt.Errorf("%w: %w", ErrHandshakeTimeout, err)
		}
	}
	_ = c.conn.SetDeadline(time.Time{})
	return err
}

func (c *Conn) checkConfig() error {
	if c.isClient {
		if c.cli == nil || len(c.cli.Key) == 0 {
			return fmt.Errorf("%w: client needs a Key", ErrConfig)
		}
		return checkSuites(c.cli.CipherSuites)
	}
	if c.srv == nil || c.srv.GetKey == nil {
		return fmt.Errorf("%w: server needs GetKey", ErrConfig)
	}
	if c.srv.MaxRecordSize < 0 || c.srv.MaxRecordSize > maxPlaintext {
		return fmt.Errorf("%w: MaxRecordSize %d out of range", ErrConfig, c.srv.MaxRecordSize)
	}
	return checkSuites(c.srv.CipherSuites)
}

func checkSuites(ids []uint16) error {
	for _, id := range ids {
		if suiteByID(id) == nil {
			return fmt.Errorf("%w: unsupported cipher suite %s", ErrConfig, CipherSuiteName(id))
		}
	}
	return nil
}

// readRecord reads one record and removes its protection. inMu must be held.
func (c *Conn) readRecord() (typ byte, data []byte, err error) {
	if c.readErr != nil {
		return 0, nil, c.readErr
	}
	hdr, err := c.br.Peek(recordHeaderLen)
	if err != nil {
		return 0, nil, c.setReadErr(ioErr(err, len(hdr)))
	}
	typ = hdr[0]
	vers := uint16(hdr[1])<<8 | uint16(hdr[2])
	n := int(hdr[3])<<8 | int(hdr[4])
	switch {
	case typ < recordTypeChangeCipherSpec || typ > recordTypeApplicationData:
		return 0, nil, c.fatal(AlertUnexpectedMessage, fmt.Errorf("unknown record type %d", typ))
	case hdr[1] != 3 || (c.vers != 0 && vers != c.vers):
		return 0, nil, c.fatal(AlertProtocolVersion, fmt.Errorf("record version %#04x", vers))
	case n > maxCiphertext:
		return 0, nil, c.fatal(AlertRecordOverflow, fmt.Errorf("record of %d bytes", n))
	}
	if _, err := c.br.Discard(recordHeaderLen); err != nil {
		return 0, nil, c.setReadErr(err)
	}
	if cap(c.rbuf) < n {
		c.rbuf = make([]byte, max(n, 4096))
	}
	payload := c.rbuf[:n]
	if m, err := io.ReadFull(c.br, payload); err != nil {
		return 0, nil, c.setReadErr(ioErr(err, m+1))
	}
	data, a, ok := c.in.open(typ, payload)
	if !ok {
		return 0, nil, c.fatal(a, errors.New("cannot open record"))
	}
	if typ == recordTypeAlert {
		return typ, data, c.handleAlert(data)
	}
	return typ, data, nil
}

// ioErr turns a clean EOF in the middle of a record into io.ErrUnexpectedEOF.
func ioErr(err error, got int) error {
	if errors.Is(err, io.EOF) && got > 0 {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (c *Conn) setReadErr(err error) error {
	c.readErr = err
	return err
}

// handleAlert processes a received alert. It returns nil for warnings that
// are to be ignored.
func (c *Conn) handleAlert(data []byte) error {
	if len(data) != 2 {
		return c.fatal(AlertDecodeError, errors.New("malformed alert"))
	}
	a := Alert(data[1])
	switch {
	case a == AlertCloseNotify:
		return c.setReadErr(io.EOF)
	case data[0] == alertLevelWarning:
		return nil
	default:
		return c.setReadErr(&AlertError{Alert: a, Remote: true})
	}
}

// fatal sends a fatal alert and records the error for subsequent reads.
// inMu must be held; outMu is taken unless the handshake holds it.
func (c *Conn) fatal(a Alert, cause error) error {
	err := &AlertError{Alert: a, Err: cause}
	c.readErr = err
	if c.hsDone.Load() {
		c.outMu.Lock()
		defer c.outMu.Unlock()
	}
	_ = c.sendAlertLocked(alertLevelFatal, a)
	return err
}

// sendAlertLocked writes an alert record. outMu must be held.
func (c *Conn) sendAlertLocked(level byte, a Alert) error {
	if c.writeErr != nil {
		return c.writeErr
	}
	err := c.writeRecordLocked(recordTypeAlert, []byte{level, byte(a)})
	if level == alertLevelFatal && c.writeErr == nil {
		c.writeErr = &AlertError{Alert: a}
	}
	return err
}

// writeRecordLocked fragments data into records and writes them. outMu must be held.
func (c *Conn) writeRecordLocked(typ byte, data []byte) error {
	if c.writeErr != nil {
		return c.writeErr
	}
	c.outBuf = c.outBuf[:0]
	limit := maxPlaintext
	if c.maxFragment > 0 {
		limit = c.maxFragment
	}
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), limit)
		c.outBuf = c.out.seal(c.outBuf, typ, data[:n])
		data = data[n:]
	}
	if _, err := c.conn.Write(c.outBuf); err != nil {
		c.writeErr = err
		return err
	}
	return nil
}

// Read reads application data, running the handshake first if needed.
func (c *Conn) Read(b []byte) (int, error) {
	if err := c.Handshake(context.Background()); err != nil {
		return 0, err
	}
	if len(b) == 0 {
		return 0, nil
	}
	c.inMu.Lock()
	defer c.inMu.Unlock()
	useless := 0
	for len(c.appBuf) == 0 {
		typ, data, err := c.readRecord()
		if err != nil {
			return 0, err
		}
		switch typ {
		case recordTypeApplicationData:
			c.appBuf = data
			if len(data) == 0 {
				useless++
			}
		case recordTypeAlert:
			useless++ // an ignored warning
		case recordTypeHandshake:
			if err := c.refuseRenegotiation(data); err != nil {
				return 0, err
			}
			useless++
		default:
			return 0, c.fatal(AlertUnexpectedMessage, fmt.Errorf("record type %d after handshake", typ))
		}
		if useless > maxUselessRecords {
			return 0, c.fatal(AlertUnexpectedMessage, errors.New("too many records without application data"))
		}
	}
	n := copy(b, c.appBuf)
	c.appBuf = c.appBuf[n:]
	return n, nil
}

// refuseRenegotiation answers a post-handshake ClientHello (server) or
// HelloRequest (client) with a no_renegotiation warning (RFC 5746 §4.2, §4.4);
// the connection stays usable. Any other handshake message is fatal.
func (c *Conn) refuseRenegotiation(data []byte) error {
	want := typeClientHello
	if c.isClient {
		want = typeHelloRequest
	}
	if len(data) < 4 || data[0] != want {
		return c.fatal(AlertUnexpectedMessage, errors.New("unexpected handshake message after handshake"))
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.sendAlertLocked(alertLevelWarning, AlertNoRenegotiation)
}

// Write writes application data, running the handshake first if needed.
func (c *Conn) Write(b []byte) (int, error) {
	if err := c.Handshake(context.Background()); err != nil {
		return 0, err
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.writeErr != nil {
		return 0, c.writeErr
	}
	written := 0
	for len(b) > 0 {
		// Bound the sealed buffer to a few records per underlying write.
		n := min(len(b), 4*maxPlaintext)
		if err := c.writeRecordLocked(recordTypeApplicationData, b[:n]); err != nil {
			return written, err
		}
		written += n
		b = b[n:]
	}
	return written, nil
}

// Close sends close_notify (when the handshake completed) and closes the
// underlying connection. It does not wait for the peer's close_notify.
func (c *Conn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return net.ErrClosed
	}
	if c.hsDone.Load() && c.outMu.TryLock() {
		// Do not block forever on a peer that does not read.
		_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_ = c.sendAlertLocked(alertLevelWarning, AlertCloseNotify)
		c.writeErr = net.ErrClosed
		c.outMu.Unlock()
	}
	return c.conn.Close()
}

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// SetDeadline sets the read and write deadlines of the underlying connection.
// A handshake overrides and then clears them.
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// SetReadDeadline sets the read deadline of the underlying connection.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline of the underlying connection.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }
