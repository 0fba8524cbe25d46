package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/thingo-iot/thingo/protocol/tlspsk"
)

// WebSocketPath is the HTTP path of the WebSocket listeners.
const WebSocketPath = "/mqtt"

// addrListener is a mochi listener that binds in Init (so port 0 resolves
// before Run) and reports its bound address.
type addrListener interface {
	listeners.Listener
	Addr() net.Addr
}

var (
	_ addrListener = (*streamListener)(nil)
	_ addrListener = (*wsListener)(nil)
)

func (b *Broker) addListeners() error {
	type spec struct {
		name, addr string
		tls        bool
		ws         bool
	}
	specs := []spec{
		{ListenerTCP, b.opts.TCPAddr, false, false},
		{ListenerTLS, b.opts.TLSAddr, true, false},
		{ListenerWS, b.opts.WSAddr, false, true},
		{ListenerWSS, b.opts.WSSAddr, true, true},
	}
	for _, s := range specs {
		if s.addr == "" {
			continue
		}
		var conf *tls.Config
		if s.tls {
			conf = b.opts.TLSConfig.Clone()
		}
		var l addrListener
		if s.ws {
			l = &wsListener{id: s.name, address: s.addr, tlsConf: conf, timeout: b.opts.ConnectTimeout,
				gate: gate{clients: &b.srv.Listeners.ClientsWg}}
		} else {
			sl := &streamListener{id: s.name, address: s.addr, tlsConf: conf, timeout: b.opts.ConnectTimeout,
				gate: gate{clients: &b.srv.Listeners.ClientsWg}}
			if s.name == ListenerTLS && b.deps.PSKKeys != nil {
				sl.psk = pskConfig(b.deps.PSKKeys, b.opts.ConnectTimeout, b.log)
			}
			l = sl
		}
		if err := b.srv.AddListener(l); err != nil {
			b.closeListeners()
			return fmt.Errorf("broker: listen %s %s: %w", s.name, s.addr, err)
		}
		b.lns = append(b.lns, namedListener{name: s.name, l: l})
	}
	return nil
}

// closeListeners releases bound sockets when New fails half-way.
func (b *Broker) closeListeners() {
	for _, nl := range b.lns {
		nl.l.Close(func(string) {})
	}
}

// streamListener serves MQTT over TCP, optionally wrapped in TLS, and then
// optionally routing TLS-PSK handshakes to the TLS-PSK server.
type streamListener struct {
	id      string
	address string
	tlsConf *tls.Config
	psk     *tlspsk.Config // nil: certificate TLS only
	timeout time.Duration
	log     *slog.Logger
	ln      net.Listener
	gate    gate
	// ctx is cancelled by Close; it aborts handshakes in progress.
	ctx    context.Context
	cancel context.CancelFunc
}

func (l *streamListener) ID() string       { return l.id }
func (l *streamListener) Address() string  { return l.Addr().String() }
func (l *streamListener) Addr() net.Addr   { return l.ln.Addr() }
func (l *streamListener) Protocol() string { return l.id }

func (l *streamListener) Init(log *slog.Logger) error {
	l.log = log
	ln, err := net.Listen("tcp", l.address)
	if err != nil {
		return err
	}
	l.ln = ln
	l.ctx, l.cancel = context.WithCancel(context.Background())
	return nil
}

func (l *streamListener) Serve(establish listeners.EstablishFn) {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if l.gate.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			l.log.Warn("accept failed", "error", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go l.handle(c, establish)
	}
}

func (l *streamListener) handle(c net.Conn, establish listeners.EstablishFn) {
	// Bounds the TLS handshake and the CONNECT; mochi resets the deadline
	// to 1.5 x keepalive once the device is authenticated.
	deadline := time.Now().Add(l.timeout)
	_ = c.SetDeadline(deadline)
	if l.tlsConf != nil {
		sc, err := l.secure(l.ctx, c, deadline)
		if err != nil {
			l.log.Debug("tls handshake failed", "remote", c.RemoteAddr().String(), "error", err)
			lingerClose(c)
			return
		}
		c = sc
	}
	if !l.gate.enter() {
		_ = c.Close()
		return
	}
	defer l.gate.leave()
	if err := establish(l.id, c); err != nil {
		l.log.Debug("connection ended", "remote", c.RemoteAddr().String(), "error", err)
	}
}

// Close stops accepting. It does not call closeClients: mochi's
// Clients.GetByListener takes a read lock recursively and deadlocks against
// a concurrent disconnect; the Broker closes the clients itself.
func (l *streamListener) Close(listeners.CloseFn) {
	if l.gate.close() {
		_ = l.ln.Close()
		if l.cancel != nil {
			l.cancel()
		}
	}
}

// gate admits connections into mochi while a listener is open. mochi's
// EstablishConnection adds to Listeners.ClientsWg, which its Close waits on;
// an Add from zero concurrent with that Wait (a handshake that ends during
// shutdown) is a WaitGroup misuse. enter adds under the lock close takes, and
// the Broker closes its listeners before mochi waits, so every admitted
// connection is counted before the Wait starts.
type gate struct {
	mu      sync.Mutex
	closed  atomic.Bool
	clients *sync.WaitGroup // mochi's Listeners.ClientsWg
}

// enter reports whether the listener is open; if so the caller must call
// leave once establish returned.
func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed.Load() {
		return false
	}
	g.clients.Add(1)
	return true
}

func (g *gate) leave() { g.clients.Done() }

// close reports whether this call closed the gate.
func (g *gate) close() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed.CompareAndSwap(false, true)
}

// wsListener serves MQTT over WebSocket (optionally TLS) on WebSocketPath.
type wsListener struct {
	id      string
	address string
	tlsConf *tls.Config
	timeout time.Duration
	log     *slog.Logger
	ln      net.Listener
	srv     *http.Server
	gate    gate
}

func (l *wsListener) ID() string       { return l.id }
func (l *wsListener) Address() string  { return l.Addr().String() }
func (l *wsListener) Addr() net.Addr   { return l.ln.Addr() }
func (l *wsListener) Protocol() string { return l.id }

func (l *wsListener) Init(log *slog.Logger) error {
	l.log = log
	ln, err := net.Listen("tcp", l.address)
	if err != nil {
		return err
	}
	if l.tlsConf != nil {
		ln = tls.NewListener(ln, l.tlsConf)
	}
	l.ln = ln
	return nil
}

func (l *wsListener) Serve(establish listeners.EstablishFn) {
	up := &websocket.Upgrader{
		HandshakeTimeout: l.timeout,
		// Tencent's SDKs send "mqtt"; older clients "mqttv3.1"; some none.
		Subprotocols: []string{"mqtt", "mqttv3.1"},
		// Devices are not browsers; there is no origin to protect.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	mux := http.NewServeMux()
	mux.HandleFunc(WebSocketPath, func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // the upgrader answered with an HTTP error
		}
		c := &wsConn{Conn: ws.UnderlyingConn(), ws: ws, tlsState: r.TLS}
		_ = c.SetDeadline(time.Now().Add(l.timeout))
		if !l.gate.enter() {
			_ = c.Close()
			return
		}
		defer l.gate.leave()
		if err := establish(l.id, c); err != nil {
			l.log.Debug("connection ended", "remote", c.RemoteAddr().String(), "error", err)
		}
		_ = c.Close()
	})
	l.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: l.timeout,
		ErrorLog:          slog.NewLogLogger(l.log.Handler(), slog.LevelDebug),
	}
	srv := l.srv
	if l.gate.closed.Load() {
		return
	}
	if err := srv.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !l.gate.closed.Load() {
		l.log.Error("websocket listener failed", "error", err)
	}
}

// Close stops accepting; see (*streamListener).Close.
func (l *wsListener) Close(listeners.CloseFn) {
	if l.gate.close() {
		_ = l.ln.Close()
	}
}

// wsConn adapts a WebSocket connection to the byte stream mochi reads.
type wsConn struct {
	net.Conn
	ws       *websocket.Conn
	tlsState *tls.ConnectionState
	mu       sync.Mutex // serialises writes; gorilla allows one writer
	r        io.Reader
}

// ConnectionState exposes the TLS state of a WSS connection.
func (c *wsConn) ConnectionState() tls.ConnectionState {
	if c.tlsState == nil {
		return tls.ConnectionState{}
	}
	return *c.tlsState
}

func (c *wsConn) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			op, r, err := c.ws.NextReader()
			if err != nil {
				return 0, err
			}
			if op != websocket.BinaryMessage {
				return 0, errors.New("broker: websocket message is not binary")
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if errors.Is(err, io.EOF) {
			c.r = nil
			if n == 0 {
				continue
			}
			return n, nil
		}
		return n, err
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}
