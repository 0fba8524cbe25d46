package sdk

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/thingo-iot/thingo/protocol"
	"github.com/thingo-iot/thingo/protocol/tlspsk"
	"github.com/thingo-iot/thingo/sdk/pahoconn"
)

// Errors returned by the Client.
var (
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("sdk: client closed")
	// ErrNotConnected: no connection is up right now (the client may be
	// reconnecting).
	ErrNotConnected = errors.New("sdk: not connected")
	// ErrAlreadyConnected: Connect was called twice.
	ErrAlreadyConnected = errors.New("sdk: Connect already called")
	// ErrSubscriptionRefused: the server answered SUBACK 0x80.
	ErrSubscriptionRefused = errors.New("sdk: subscription refused")
	// ErrTimeout: no reply arrived in time.
	ErrTimeout = errors.New("sdk: timed out waiting for the reply")
)

// ConnectError is a CONNECT the server refused with a CONNACK return code.
type ConnectError struct {
	Code protocol.ConnackCode
	Err  error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("sdk: connection refused (0x%02x %s): %v", byte(e.Code), e.Code, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// Message is a message received on a subscription.
type Message struct {
	Topic   string
	QoS     byte
	Payload []byte
}

// Handler handles a received message. Handlers run on their own goroutine
// (several may run at once); ctx is canceled when the client closes.
type Handler func(ctx context.Context, m Message)

type subscription struct {
	qos     byte
	handler Handler
}

// Client is a device connection to the platform. It is safe for concurrent
// use. Create it with New, start it with Connect, stop it with Close.
type Client struct {
	cfg  Config
	tls  bool
	log  *slog.Logger
	ctx  context.Context // canceled by Close
	stop context.CancelFunc

	mu      sync.Mutex
	pc      mqtt.Client // current connection, nil while down
	started bool
	closed  bool
	subs    map[string]subscription
	wg      sync.WaitGroup // supervisor and handler goroutines
	lost    chan mqtt.Client

	waiters     *waiters
	self        *thing // the thing model of the client's own device
	tokenPrefix string
	tokenSeq    atomic.Uint64
	timeMu      sync.Mutex // one $sys time request at a time

	hooks   []func(ctx context.Context) // run after every connection
	gwOnce  sync.Once
	gateway *Gateway
}

// New validates cfg and returns an unconnected client. It starts no
// goroutine.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	c := &Client{
		cfg: cfg, tls: tc != nil, log: cfg.Logger.With("device", cfg.ProductID+"/"+cfg.DeviceName),
		ctx: ctx, stop: stop, subs: map[string]subscription{}, lost: make(chan mqtt.Client, 1),
		waiters: newWaiters(), tokenPrefix: randomString(6),
	}
	c.self = newThing(c, cfg.ProductID, cfg.DeviceName)
	c.addThingSubscriptions()
	return c, nil
}

// Connect connects to the broker and keeps the client connected until Close:
// a dropped connection is re-established with a jittered backoff between
// MinBackoff and MaxBackoff, and every subscription is renewed. The first
// connection is retried the same way until ctx ends, except when the server
// refuses the credentials (a *ConnectError), which is returned at once.
func (c *Client) Connect(ctx context.Context) error {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return ErrClosed
	case c.started:
		c.mu.Unlock()
		return ErrAlreadyConnected
	}
	c.started = true
	c.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel)
	defer stop()
	b := backoff{min: c.cfg.MinBackoff, max: c.cfg.MaxBackoff}
	for {
		err := c.dial(ctx)
		if err == nil {
			break
		}
		var ce *ConnectError
		if errors.As(err, &ce) && ce.Code != protocol.ConnackServerUnavailable || ctx.Err() != nil {
			c.mu.Lock()
			c.started = false
			c.mu.Unlock()
			if c.ctx.Err() != nil {
				return ErrClosed
			}
			return err
		}
		d := b.next()
		c.log.Warn("connect failed, retrying", "err", err, "in", d)
		if !sleep(ctx, d) {
			c.mu.Lock()
			c.started = false
			c.mu.Unlock()
			return fmt.Errorf("sdk: connect: %w (last error: %w)", ctx.Err(), err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.wg.Add(1)
	go c.supervise()
	return nil
}

// supervise reconnects after every connection loss until Close.
func (c *Client) supervise() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case pc := <-c.lost:
			c.mu.Lock()
			current := c.pc == pc
			if current {
				c.pc = nil
			}
			c.mu.Unlock()
			if !current {
				continue
			}
		}
		b := backoff{min: c.cfg.MinBackoff, max: c.cfg.MaxBackoff}
		for {
			d := b.next()
			if !sleep(c.ctx, d) {
				return
			}
			err := c.dial(c.ctx)
			if err == nil {
				break
			}
			if c.ctx.Err() != nil {
				return
			}
			c.log.Warn("reconnect failed", "err", err)
		}
	}
}

// dial makes one connection attempt, installs it as the current connection
// and renews the subscriptions.
func (c *Client) dial(ctx context.Context) error {
	clientID, user, pass, err := c.cfg.credentials()
	if err != nil {
		return err
	}
	tc, err := c.cfg.tlsConfig()
	if err != nil {
		return err
	}
	o := mqtt.NewClientOptions().AddBroker(c.cfg.Broker).
		SetClientID(clientID).SetUsername(user).SetPassword(pass).
		SetProtocolVersion(4).SetCleanSession(c.cfg.CleanSession).
		SetKeepAlive(c.cfg.KeepAlive).SetPingTimeout(10 * time.Second).
		SetConnectTimeout(c.cfg.ConnectTimeout).SetWriteTimeout(c.cfg.ConnectTimeout).
		SetAutoReconnect(false).SetConnectRetry(false).SetResumeSubs(false).
		SetTLSConfig(tc)
	if c.cfg.Dialer != nil {
		o.SetDialer(c.cfg.Dialer)
	}
	pahoconn.Use(o, nil)
	if c.cfg.TLSPSK {
		o.SetCustomOpenConnectionFn(func(u *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
			return c.dialPSK(ctx, u.Host)
		})
	}
	o.SetConnectionLostHandler(func(pc mqtt.Client, err error) {
		c.log.Warn("connection lost", "err", err)
		if c.cfg.OnConnectionLost != nil {
			c.cfg.OnConnectionLost(err)
		}
		select {
		case c.lost <- pc:
		default:
		}
	})
	o.SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
		c.log.Debug("message without subscription", "topic", m.Topic())
	})
	pc := mqtt.NewClient(o)
	c.mu.Lock()
	subs := make(map[string]subscription, len(c.subs))
	for topic, s := range c.subs {
		subs[topic] = s
		pc.AddRoute(topic, c.route(s.handler))
	}
	c.mu.Unlock()

	tok := pc.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		pc.Disconnect(0)
		return ctx.Err()
	}
	if err := tok.Error(); err != nil {
		code := tok.(*mqtt.ConnectToken).ReturnCode()
		if code >= 1 && code <= 5 {
			return &ConnectError{Code: protocol.ConnackCode(code), Err: err}
		}
		if pskRefused(err) {
			return &ConnectError{Code: protocol.ConnackBadUsernameOrPassword, Err: err}
		}
		return fmt.Errorf("sdk: connect %s: %w", c.cfg.Broker, err)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		pc.Disconnect(0)
		return ErrClosed
	}
	c.pc = pc
	c.mu.Unlock()
	c.log.Info("connected", "broker", c.cfg.Broker, "session_present", tok.(*mqtt.ConnectToken).SessionPresent())

	if len(subs) > 0 {
		filters := make(map[string]byte, len(subs))
		for topic, s := range subs {
			filters[topic] = s.qos
		}
		st := pc.SubscribeMultiple(filters, nil)
		if err := waitToken(ctx, st, c.cfg.ConnectTimeout); err != nil {
			c.log.Warn("resubscribe failed", "err", err)
		} else {
			for topic, granted := range st.(*mqtt.SubscribeToken).Result() {
				if granted == 0x80 {
					c.log.Warn("subscription refused", "topic", topic)
				}
			}
		}
	}
	if c.cfg.OnConnect != nil {
		c.cfg.OnConnect(tok.(*mqtt.ConnectToken).SessionPresent())
	}
	c.runHooks()
	return nil
}

// runHooks runs the connection hooks on a goroutine of the client.
func (c *Client) runHooks() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || len(c.hooks) == 0 {
		return
	}
	hooks := slices.Clone(c.hooks)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for _, h := range hooks {
			h(c.ctx)
		}
	}()
}

// onConnected registers h to run after every connection, once the
// subscriptions are renewed. Hooks run one after the other on one
// goroutine; ctx ends when the client closes.
func (c *Client) onConnected(h func(ctx context.Context)) {
	c.mu.Lock()
	c.hooks = append(c.hooks, h)
	c.mu.Unlock()
}

// dialPSK opens a TLS-PSK connection to addr (PROTOCOL.md §13.2).
func (c *Client) dialPSK(ctx context.Context, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	key, err := base64.StdEncoding.DecodeString(c.cfg.DeviceSecret)
	if err != nil {
		return nil, fmt.Errorf("sdk: TLS-PSK key: %w", err)
	}
	d := c.cfg.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sdk: dial %s: %w", addr, err)
	}
	conn := tlspsk.Client(raw, &tlspsk.ClientConfig{
		Identity: protocol.ClientID(c.cfg.ProductID, c.cfg.DeviceName), Key: key, ServerName: c.cfg.ServerName,
	})
	if err := conn.Handshake(ctx); err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("sdk: TLS-PSK handshake with %s: %w", addr, err)
	}
	return conn, nil
}

// pskRefused reports whether err is a TLS-PSK handshake the server refused
// for the credentials: an unknown identity, or a wrong key (the server
// cannot verify the client's Finished).
func pskRefused(err error) bool {
	var ae *tlspsk.AlertError
	if !errors.As(err, &ae) || !ae.Remote {
		return false
	}
	switch ae.Alert {
	case tlspsk.AlertUnknownPSKIdentity, tlspsk.AlertBadRecordMAC, tlspsk.AlertDecryptError:
		return true
	}
	return false
}

// subscribeLive subscribes topics at QoS 1 on the current connection only:
// they are not renewed on reconnection (the gateway renews the topics of
// its sub-devices after bringing them online again). Refused topics are
// reported as an error wrapping ErrSubscriptionRefused.
func (c *Client) subscribeLive(ctx context.Context, topics map[string]Handler) error {
	pc, err := c.current()
	if err != nil {
		return err
	}
	filters := make(map[string]byte, len(topics))
	for topic, h := range topics {
		pc.AddRoute(topic, c.route(h))
		filters[topic] = 1
	}
	tok := pc.SubscribeMultiple(filters, nil)
	if err := waitToken(ctx, tok, c.cfg.RequestTimeout); err != nil {
		return err
	}
	var refused []string
	for topic, granted := range tok.(*mqtt.SubscribeToken).Result() {
		if granted == 0x80 {
			refused = append(refused, topic)
		}
	}
	if len(refused) > 0 {
		slices.Sort(refused)
		return fmt.Errorf("%w: %s", ErrSubscriptionRefused, strings.Join(refused, ", "))
	}
	return nil
}

// unsubscribeLive unsubscribes topics on the current connection, if any.
func (c *Client) unsubscribeLive(ctx context.Context, topics ...string) error {
	pc, err := c.current()
	if err != nil || len(topics) == 0 {
		return err
	}
	return waitToken(ctx, pc.Unsubscribe(topics...), c.cfg.RequestTimeout)
}

// route adapts h to paho: each message is handled on its own goroutine so
// that paho's reader is never blocked.
func (c *Client) route(h Handler) mqtt.MessageHandler {
	return func(_ mqtt.Client, m mqtt.Message) {
		msg := Message{Topic: m.Topic(), QoS: m.Qos(), Payload: m.Payload()}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			return
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			h(c.ctx, msg)
		}()
	}
}

// IsConnected reports whether a connection is up now.
func (c *Client) IsConnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pc != nil && c.pc.IsConnectionOpen()
}

// current returns the live connection.
func (c *Client) current() (mqtt.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return nil, ErrClosed
	case c.pc == nil || !c.pc.IsConnectionOpen():
		return nil, ErrNotConnected
	}
	return c.pc, nil
}

// Publish sends payload to topic at QoS 0 or 1 and, for QoS 1, waits for
// the PUBACK. It fails with ErrNotConnected while the client is
// disconnected.
func (c *Client) Publish(ctx context.Context, topic string, qos byte, payload []byte) error {
	if qos > 1 {
		return fmt.Errorf("sdk: publish %s: QoS %d not supported (0 or 1)", topic, qos)
	}
	pc, err := c.current()
	if err != nil {
		return fmt.Errorf("sdk: publish %s: %w", topic, err)
	}
	if err := waitToken(ctx, pc.Publish(topic, qos, false, payload), c.cfg.RequestTimeout); err != nil {
		return fmt.Errorf("sdk: publish %s: %w", topic, err)
	}
	return nil
}

// Subscribe subscribes to topic (a filter, wildcards allowed) at QoS 0 or 1
// and routes matching messages to handler. The subscription is remembered
// and renewed on every reconnection. Subscribing before Connect only
// records it. A refused subscription (SUBACK 0x80) returns
// ErrSubscriptionRefused and is forgotten. The client itself subscribes
// `$thing/down/{property,event,action}` (and `$sys/operation/result` for
// ServerTime): subscribing those topics here replaces the SDK's own
// handling of them.
func (c *Client) Subscribe(ctx context.Context, topic string, qos byte, handler Handler) error {
	if qos > 1 {
		qos = 1
	}
	if handler == nil {
		return fmt.Errorf("sdk: subscribe %s: nil handler", topic)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.subs[topic] = subscription{qos: qos, handler: handler}
	pc := c.pc
	c.mu.Unlock()
	if pc == nil {
		return nil
	}
	pc.AddRoute(topic, c.route(handler))
	tok := pc.Subscribe(topic, qos, nil)
	if err := waitToken(ctx, tok, c.cfg.RequestTimeout); err != nil {
		return fmt.Errorf("sdk: subscribe %s: %w", topic, err)
	}
	if tok.(*mqtt.SubscribeToken).Result()[topic] == 0x80 {
		c.mu.Lock()
		delete(c.subs, topic)
		c.mu.Unlock()
		return fmt.Errorf("sdk: subscribe %s: %w", topic, ErrSubscriptionRefused)
	}
	return nil
}

// Unsubscribe removes a subscription.
func (c *Client) Unsubscribe(ctx context.Context, topic string) error {
	c.mu.Lock()
	delete(c.subs, topic)
	pc := c.pc
	c.mu.Unlock()
	if pc == nil {
		return nil
	}
	// paho drops the route when the unsubscription completes.
	if err := waitToken(ctx, pc.Unsubscribe(topic), c.cfg.RequestTimeout); err != nil {
		return fmt.Errorf("sdk: unsubscribe %s: %w", topic, err)
	}
	return nil
}

// Close disconnects and waits for every goroutine of the client (handlers
// included) to finish. It is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	pc := c.pc
	c.pc = nil
	c.mu.Unlock()
	c.stop()
	if pc != nil {
		pc.Disconnect(250)
	}
	c.wg.Wait()
	return nil
}

// waitToken waits for a paho token, ctx and a default timeout.
func waitToken(ctx context.Context, tok mqtt.Token, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return ErrTimeout
	}
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// backoff yields jittered, exponentially growing delays within
// [min, max]: attempt n waits a random time between b/2 and b, where
// b = min·2^(n+1) capped at max, so even the first retries of many devices
// dropped at once are spread over [min, 2·min].
type backoff struct {
	min, max time.Duration
	cur      time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = min(2*b.min, b.max)
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	d := b.cur/2 + rand.N(b.cur/2+1)
	return max(d, b.min)
}
