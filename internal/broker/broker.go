// Package broker is Thingo's MQTT device access layer. It embeds
// github.com/mochi-mqtt/server/v2 behind a small API and closes its traps:
// exactly one authentication and ACL hook whose denials no other hook can
// undo, no I/O per message on the client's read goroutine, and downlinks
// that are delivered, queued or reported undelivered, never silently lost.
package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/thingo-iot/thingo/internal/devauth"
)

// Listener names accepted by (*Broker).Addr.
const (
	ListenerTCP = "tcp"
	ListenerTLS = "tls"
	ListenerWS  = "ws"
	ListenerWSS = "wss"
)

// Defaults applied by New to zero Options fields.
const (
	DefaultMaxPayload     = 16 * 1024
	DefaultUplinkRate     = 30
	DefaultMaxKeepAlive   = 900 * time.Second
	DefaultSessionExpiry  = 24 * time.Hour
	DefaultOfflinePacing  = 500 * time.Millisecond
	DefaultConnectTimeout = 10 * time.Second
	DefaultUplinkQueue    = 4096
	DefaultUplinkWorkers  = 4
	DefaultMaxInflight    = 150
	DefaultWritesPending  = 256
	// DefaultReadBuffer is the read buffer per connection. Device packets
	// are small; a larger packet is read past the buffer, straight into
	// the packet, so the size only trades syscalls for idle memory.
	DefaultReadBuffer = 1024
	// maxMessageExpiry bounds how long mochi keeps an unacknowledged QoS1
	// message in a session (the offline queue's retention).
	maxMessageExpiry = 7 * 24 * time.Hour
)

// Errors returned by the broker.
var (
	// ErrDeviceOffline: the device has no connection, and no persistent
	// session with a subscription matching the topic (or the message is QoS0).
	ErrDeviceOffline = errors.New("broker: device offline")
	// ErrNotSubscribed: the device is connected but not subscribed to the topic.
	ErrNotSubscribed = errors.New("broker: device not subscribed to topic")
	// ErrUndelivered: the device's outbound buffer was full and the message
	// could not be queued (QoS0 or no persistent session).
	ErrUndelivered = errors.New("broker: message dropped, device too slow")
	// ErrInvalidQoS: a downlink QoS other than 0 or 1.
	ErrInvalidQoS = errors.New("broker: qos must be 0 or 1")
	// ErrNotRunning: the broker is not serving (not started or stopped).
	ErrNotRunning = errors.New("broker: not running")
	// ErrNoListener: Options enable no listener.
	ErrNoListener = errors.New("broker: no listener configured")
	// ErrTLSConfig: a TLS or WSS listener without Options.TLSConfig.
	ErrTLSConfig = errors.New("broker: TLS listener needs a TLSConfig")
)

// Options configure a Broker. Zero values take the defaults above; empty
// addresses disable the listener.
type Options struct {
	TCPAddr string // MQTT over TCP, e.g. ":1883"
	TLSAddr string // MQTT over TLS, e.g. ":8883"
	WSAddr  string // MQTT over WebSocket, path /mqtt, e.g. ":8081"
	WSSAddr string // MQTT over secure WebSocket, path /mqtt, e.g. ":8444"
	// TLSConfig serves TLSAddr and WSSAddr. For certificate devices set
	// ClientAuth to tls.VerifyClientCertIfGiven (or RequireAndVerifyClientCert)
	// with ClientCAs; the verified chain reaches the Authenticator.
	TLSConfig *tls.Config
	// MaxPayload is the largest PUBLISH payload a device may send, in bytes;
	// a larger one closes the connection.
	MaxPayload int
	// UplinkRate is the number of PUBLISH per second a device may send; the
	// excess is dropped and reported to the Observer.
	UplinkRate int
	// MaxKeepAlive caps the keepalive a device asks for (0 asks for the cap).
	// A device silent for 1.5 x keepalive is disconnected.
	MaxKeepAlive time.Duration
	// SessionExpiry is how long a persistent session survives without a
	// connection.
	SessionExpiry time.Duration
	// OfflinePacing is the interval between queued messages delivered to a
	// device that reconnects into its session.
	OfflinePacing time.Duration
	// ConnectTimeout bounds the TLS/WebSocket handshake and the CONNECT packet.
	ConnectTimeout time.Duration
	// UplinkQueue is the capacity of the queues between the connections and
	// the Handler workers (shared out among the workers); when a device's
	// queue is full, its uplinks are dropped and reported.
	UplinkQueue int
	// UplinkWorkers is the number of goroutines calling the Handler.
	UplinkWorkers int
	// MaxInflight is the number of unacknowledged QoS1 downlinks per session.
	MaxInflight int
	// WritesPending is the number of packets buffered per connection before
	// mochi drops downlinks (see Deliver).
	WritesPending int
	// ReadBuffer is the size of each connection's read buffer in bytes.
	ReadBuffer int
	// Logger receives the broker's logs; nil discards them.
	Logger *slog.Logger
}

// Authenticator checks a device's CONNECT. An error may carry the CONNACK
// return code by implementing interface{ ConnackCode() byte }; otherwise
// 0x04 (bad user name or password) is sent.
type Authenticator interface {
	Authenticate(ctx context.Context, r devauth.ConnectRequest) (devauth.Identity, error)
}

// Permissions are a connection's topic permissions, compiled at CONNECT.
// Both methods must be fast and do no I/O.
type Permissions interface {
	CanPublish(topic string) bool
	CanSubscribe(filter string) bool
}

// Handler receives accepted uplink messages from the worker pool.
type Handler interface {
	HandleUplink(ctx context.Context, id devauth.Identity, topic string, payload []byte)
}

// Drop reasons reported to Observer.Dropped.
const (
	DropACL      = "acl"      // PUBLISH to a topic the device may not publish to
	DropRate     = "rate"     // above Options.UplinkRate
	DropQoS2     = "qos2"     // PUBLISH at QoS 2 (connection closed)
	DropSize     = "size"     // payload above Options.MaxPayload (connection closed)
	DropOverload = "overload" // uplink queue full
	DropDownlink = "downlink" // a message to the device was dropped, device too slow
	DropWill     = "will"     // the CONNECT carried a Will, accepted and never published
)

// Connection describes an accepted connection for Observer.Connected.
type Connection struct {
	RemoteAddr     string
	ProtocolLevel  byte
	KeepAlive      time.Duration
	SessionPresent bool
	Listener       string
}

// Observer records connection events (presence, device log). Its methods are
// called on connection goroutines and must not block for long.
type Observer interface {
	Connected(id devauth.Identity, c Connection)
	Disconnected(id devauth.Identity, at time.Time, reason string)
	Dropped(id devauth.Identity, topic, reason string)
}

// OfflineQueue stores QoS1 downlinks for devices that are offline with a
// persistent session.
type OfflineQueue interface {
	Enqueue(ctx context.Context, clientID, topic string, payload []byte, qos byte) error
	Next(ctx context.Context, clientID string, afterSeq uint64) (seq uint64, topic string, payload []byte, qos byte, ok bool, err error)
	// DeleteThrough removes clientID's messages up to and including seq
	// (the drain delivers in order, so those were all handled).
	DeleteThrough(ctx context.Context, clientID string, seq uint64) error
	Purge(ctx context.Context, clientID string) error
	Len(ctx context.Context, clientID string) (int, error)
}

// SessionStore persists persistent sessions across a graceful restart.
type SessionStore interface {
	SaveSession(ctx context.Context, clientID string, data []byte) error
	LoadSessions(ctx context.Context) (map[string][]byte, error)
	DeleteSession(ctx context.Context, clientID string) error
}

// Deps are the broker's collaborators. Authenticator is required (the
// Identity's ACL gives the connection's permissions; a nil ACL denies
// everything); nil
// Handler, Observer, Queue, Sessions or PSKKeys disable what they provide
// (without PSKKeys the TLS listener speaks certificate TLS only).
type Deps struct {
	Authenticator Authenticator
	Handler       Handler
	Observer      Observer
	Queue         OfflineQueue
	Sessions      SessionStore
	PSKKeys       PSKKeys
	// Proxies routes downlinks of sub-devices online through a gateway to
	// the gateway's connection; nil: no gateways.
	Proxies Proxies
	// Tap sees every device message the platform handles; nil: none.
	Tap Tap
	// Cluster routes downlinks, disconnects and takeovers to the node
	// holding a device; nil: a single node.
	Cluster Cluster
}

// Tap watches the conversation of devices (the console's live log): every
// uplink as it is handed to the Handler, and every downlink with what
// Deliver answered. Both are called on the message's path, so they must be
// fast and never block; payload must not be kept without copying.
type Tap interface {
	Uplink(id devauth.Identity, topic string, payload []byte)
	Downlink(productID, deviceName, topic string, payload []byte, d Delivery, err error)
}

// Proxies tells which gateway a sub-device is online through, and how many
// sub-devices are online through a gateway. Both must be fast and do no I/O:
// OnlineSubDevices is called for every PUBLISH of a gateway connection.
type Proxies interface {
	Via(productID, deviceName string) (gwProductID, gwDeviceName string, ok bool)
	// OnlineSubDevices scales the uplink rate of a gateway connection
	// (see GatewayRateFactorMax).
	OnlineSubDevices(gwProductID, gwDeviceName string) int
}

// Broker is the MQTT server devices connect to.
type Broker struct {
	opts Options
	deps Deps
	log  *slog.Logger

	srv    *mqtt.Server
	inline *mqtt.Client // publishes platform downlinks
	hook   *accessHook
	lns    []namedListener

	// uplinks are the worker queues; a device's messages always go to the
	// same queue (by client id), so they reach the Handler in order.
	uplinks []chan uplink

	ready     chan struct{}
	readyOnce sync.Once

	mu       sync.Mutex
	conns    map[*mqtt.Client]*conn // live connections
	draining map[string]*drain      // client id -> offline queue drain in progress
	pending  map[uint64]*delivery   // delivery token -> outcome
	nextTok  uint64
	running  bool
	runCtx   context.Context
	wg       sync.WaitGroup // offline queue drains and purges
}

type namedListener struct {
	name string
	l    addrListener
}

// New validates the options and builds a Broker; Run starts it.
func New(o Options, deps Deps) (*Broker, error) {
	if deps.Authenticator == nil {
		return nil, errors.New("broker: Deps.Authenticator is required")
	}
	o = withDefaults(o)
	if o.TCPAddr == "" && o.TLSAddr == "" && o.WSAddr == "" && o.WSSAddr == "" {
		return nil, ErrNoListener
	}
	if (o.TLSAddr != "" || o.WSSAddr != "") && o.TLSConfig == nil {
		return nil, ErrTLSConfig
	}
	b := &Broker{
		opts:     o,
		deps:     deps,
		log:      o.Logger,
		uplinks:  newUplinkQueues(o.UplinkWorkers, o.UplinkQueue),
		ready:    make(chan struct{}),
		conns:    make(map[*mqtt.Client]*conn),
		draining: make(map[string]*drain),
		pending:  make(map[uint64]*delivery),
	}
	b.srv = mqtt.New(&mqtt.Options{
		Capabilities: b.capabilities(),
		Logger:       o.Logger,
		// $SYS topics are not part of the device contract.
		SysTopicResendInterval:  1 << 30,
		ClientNetReadBufferSize: o.ReadBuffer,
	})
	b.inline = b.srv.NewClient(nil, "local", "thingo-platform", true)
	b.hook = &accessHook{b: b}
	if err := b.srv.AddHook(b.hook, nil); err != nil {
		return nil, fmt.Errorf("broker: add hook: %w", err)
	}
	if err := b.addListeners(); err != nil {
		return nil, err
	}
	return b, nil
}

func withDefaults(o Options) Options {
	if o.MaxPayload <= 0 {
		o.MaxPayload = DefaultMaxPayload
	}
	if o.UplinkRate <= 0 {
		o.UplinkRate = DefaultUplinkRate
	}
	if o.MaxKeepAlive <= 0 {
		o.MaxKeepAlive = DefaultMaxKeepAlive
	}
	if o.SessionExpiry <= 0 {
		o.SessionExpiry = DefaultSessionExpiry
	}
	if o.OfflinePacing <= 0 {
		o.OfflinePacing = DefaultOfflinePacing
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.UplinkQueue <= 0 {
		o.UplinkQueue = DefaultUplinkQueue
	}
	if o.UplinkWorkers <= 0 {
		o.UplinkWorkers = DefaultUplinkWorkers
	}
	if o.MaxInflight <= 0 {
		o.MaxInflight = DefaultMaxInflight
	}
	if o.WritesPending <= 0 {
		o.WritesPending = DefaultWritesPending
	}
	if o.ReadBuffer <= 0 {
		o.ReadBuffer = DefaultReadBuffer
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// capabilities are mochi's limits derived from the options.
func (b *Broker) capabilities() *mqtt.Capabilities {
	c := mqtt.NewDefaultServerCapabilities()
	c.MaximumQos = 1
	c.RetainAvailable = 0
	c.SharedSubAvailable = 0
	c.SubIDAvailable = 0
	c.TopicAliasMaximum = 0
	c.MinimumProtocolVersion = 3
	// mochi applies MaximumSessionExpiryInterval to v3 sessions.
	c.MaximumSessionExpiryInterval = uint32(b.opts.SessionExpiry / time.Second)
	c.MaximumMessageExpiryInterval = int64(maxMessageExpiry / time.Second)
	// A PUBLISH is payload + topic (<= 64 KiB) + a few bytes; anything
	// larger is refused before it is read into memory.
	c.MaximumPacketSize = uint32(b.opts.MaxPayload + 1<<16 + 16)
	c.MaximumInflight = uint16(min(b.opts.MaxInflight, 65535))
	c.MaximumClientWritesPending = int32(b.opts.WritesPending)
	return c
}

// Ready is closed once every listener accepts connections.
func (b *Broker) Ready() <-chan struct{} { return b.ready }

// Addr returns the bound address of a listener (ListenerTCP, ListenerTLS,
// ListenerWS, ListenerWSS), or nil if it is not enabled.
func (b *Broker) Addr(name string) net.Addr {
	for _, nl := range b.lns {
		if nl.name == name {
			return nl.l.Addr()
		}
	}
	return nil
}

// Run serves until ctx is done, then stops accepting, disconnects the
// clients, persists sessions and returns.
func (b *Broker) Run(ctx context.Context) error {
	b.mu.Lock()
	if b.running || b.runCtx != nil {
		b.mu.Unlock()
		return errors.New("broker: Run called twice")
	}
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	b.runCtx = workCtx
	b.running = true
	b.mu.Unlock()

	if err := b.restoreSessions(ctx); err != nil {
		cancelWork()
		b.closeListeners()
		return err
	}
	stopWorkers := make(chan struct{})
	var workers sync.WaitGroup
	for _, q := range b.uplinks {
		workers.Add(1)
		go func() {
			defer workers.Done()
			b.uplinkWorker(workCtx, q, stopWorkers)
		}()
	}
	if err := b.srv.Serve(); err != nil {
		close(stopWorkers)
		workers.Wait()
		cancelWork()
		b.closeListeners()
		return fmt.Errorf("broker: serve: %w", err)
	}
	b.readyOnce.Do(func() { close(b.ready) })
	b.log.Info("mqtt broker serving", "listeners", b.listenerAddrs())

	<-ctx.Done()

	// Stop accepting, then close every connection: those accepted by
	// OnConnect (b.conns, which no CONNECT joins once running is false) and
	// those mochi holds. mochi's own shutdown is not used to close them: it
	// writes a DISCONNECT that waits for a device that stopped reading, and
	// can deadlock (see (*streamListener).Close).
	b.mu.Lock()
	b.running = false
	live := make([]*mqtt.Client, 0, len(b.conns))
	for cl := range b.conns {
		live = append(live, cl)
	}
	b.mu.Unlock()
	b.closeListeners()
	for _, cl := range live {
		cl.Stop(packets.ErrServerShuttingDown)
	}
	for _, cl := range b.srv.Clients.GetAll() {
		if !cl.Net.Inline {
			cl.Stop(packets.ErrServerShuttingDown)
		}
	}
	// Waits for the connection goroutines to end.
	err := b.srv.Close()
	// The workers hand the uplinks already accepted to the Handler.
	close(stopWorkers)
	workers.Wait()
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if serr := b.saveSessions(saveCtx); serr != nil {
		err = errors.Join(err, serr)
	}
	cancelWork()
	b.wg.Wait()
	return err
}

func (b *Broker) listenerAddrs() []string {
	out := make([]string, 0, len(b.lns))
	for _, nl := range b.lns {
		out = append(out, nl.name+"="+nl.l.Addr().String())
	}
	return out
}
