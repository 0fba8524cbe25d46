// Package bus is Thingo's message bus: a NATS server with JetStream, either
// embedded in the process (single node, no network listener) or an external
// cluster. On top of it the package provides the presence KV bucket, the
// persistent-session KV bucket, the per-client offline queue stream and the
// per-device downlink subjects.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrNotFound is returned when a presence record or session does not exist.
var ErrNotFound = errors.New("bus: not found")

// Defaults applied by Open to zero Options fields.
const (
	DefaultOfflineLimit  = 150
	DefaultOfflineMaxAge = 7 * 24 * time.Hour
)

// Names of the JetStream assets the bus creates.
const (
	PresenceBucket = "presence"
	SessionsBucket = "sessions"
	// SessionNodesBucket is the bucket of SessionNodes.
	SessionNodesBucket = "session-nodes"
	OfflineStream      = "OFFLINE"
)

// Options configures Open.
type Options struct {
	// DataDir is the JetStream store directory of the embedded server,
	// e.g. <data>/nats. Required when URL is empty; ignored otherwise.
	DataDir string
	// URL of an external NATS cluster with JetStream. Empty starts the
	// embedded server. Credentials may be given in the URL (user:pass@).
	URL string
	// Replicas of every stream and bucket: 1 (default) for the embedded
	// server, 3 for a cluster. The embedded server only accepts 1.
	Replicas int
	// OfflineLimit is the number of messages kept per client in the offline
	// queue; older ones are discarded. Default 150.
	OfflineLimit int
	// OfflineMaxAge is how long an offline message is kept. Default 7 days.
	OfflineMaxAge time.Duration
	// Logger receives the bus's and the embedded server's logs. Nil
	// discards them.
	Logger *slog.Logger
	// Node is this node's id in a cluster: presence records carry it, and
	// Presence.Delete then only deletes this node's records. Empty (a
	// single node) records no node.
	Node string
}

// Bus is a connection to NATS/JetStream with Thingo's streams and buckets
// provisioned. It is safe for concurrent use.
type Bus struct {
	log      *slog.Logger
	srv      *server.Server // nil when connected to an external cluster
	nc       *nats.Conn
	js       jetstream.JetStream
	presence *Presence
	sessions *Sessions
	offline  *OfflineQueue
	homes    *SessionNodes

	closeWait chan struct{} // closed by the connection's closed handler
	closeOnce sync.Once
	closeErr  error
}

// Open starts the embedded NATS server (or connects to o.URL), then creates
// or updates the presence and sessions buckets and the offline stream.
func Open(ctx context.Context, o Options) (*Bus, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Bus{log: o.Logger}

	closed := make(chan struct{})
	copts := []nats.Option{
		nats.Name("thingo"),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
	}
	if o.URL == "" {
		b.srv, err = startEmbedded(ctx, o.DataDir, o.Logger)
		if err != nil {
			return nil, err
		}
		copts = append(copts, nats.InProcessServer(b.srv))
	} else {
		copts = append(copts,
			nats.MaxReconnects(-1),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				if err != nil {
					b.log.Warn("nats disconnected", "err", err)
				}
			}),
			nats.ReconnectHandler(func(nc *nats.Conn) {
				b.log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
			}),
		)
	}
	b.nc, err = nats.Connect(o.URL, copts...)
	if err != nil {
		b.shutdownServer()
		return nil, fmt.Errorf("bus: connect to nats: %w", err)
	}
	b.js, err = jetstream.New(b.nc)
	if err != nil {
		b.nc.Close()
		b.shutdownServer()
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	if err := b.provision(ctx, o); err != nil {
		b.nc.Close()
		<-closed
		b.shutdownServer()
		return nil, err
	}
	b.closeWait = closed
	return b, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.OfflineLimit == 0 {
		o.OfflineLimit = DefaultOfflineLimit
	}
	if o.OfflineMaxAge == 0 {
		o.OfflineMaxAge = DefaultOfflineMaxAge
	}
	switch {
	case o.Replicas < 1 || o.Replicas > 5:
		return o, fmt.Errorf("bus: replicas %d: must be between 1 and 5", o.Replicas)
	case o.URL == "" && o.Replicas != 1:
		return o, fmt.Errorf("bus: replicas %d: the embedded server is a single node, use 1", o.Replicas)
	case o.URL == "" && o.DataDir == "":
		return o, errors.New("bus: data dir is required for the embedded server")
	case o.OfflineLimit < 0:
		return o, fmt.Errorf("bus: offline limit %d: must be positive", o.OfflineLimit)
	case o.OfflineMaxAge < 0:
		return o, fmt.Errorf("bus: offline max age %s: must be positive", o.OfflineMaxAge)
	}
	return o, nil
}

// provision creates or updates the JetStream assets used by the bus.
func (b *Bus) provision(ctx context.Context, o Options) error {
	presence, err := b.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      PresenceBucket,
		Description: "Thingo: which node holds which device connection",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	})
	if err != nil {
		return fmt.Errorf("bus: presence bucket: %w", err)
	}
	sessions, err := b.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      SessionsBucket,
		Description: "Thingo: persistent MQTT sessions",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	})
	if err != nil {
		return fmt.Errorf("bus: sessions bucket: %w", err)
	}
	homes, err := b.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      SessionNodesBucket,
		Description: "Thingo: which node keeps each persistent MQTT session",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	})
	if err != nil {
		return fmt.Errorf("bus: session nodes bucket: %w", err)
	}
	stream, err := b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              OfflineStream,
		Description:       "Thingo: QoS 1 messages queued for offline persistent sessions",
		Subjects:          []string{offlinePrefix + ">"},
		Retention:         jetstream.LimitsPolicy,
		MaxMsgsPerSubject: int64(o.OfflineLimit),
		MaxAge:            o.OfflineMaxAge,
		Discard:           jetstream.DiscardOld,
		Storage:           jetstream.FileStorage,
		Replicas:          o.Replicas,
		AllowDirect:       true,
	})
	if err != nil {
		return fmt.Errorf("bus: offline stream: %w", err)
	}
	b.presence = &Presence{kv: presence, node: o.Node}
	b.homes = &SessionNodes{kv: homes}
	b.sessions = &Sessions{kv: sessions}
	b.offline = &OfflineQueue{js: b.js, stream: stream}
	if o.URL == "" {
		// The embedded server belongs to this process alone: no other node
		// enqueues, so the queue may index its clients.
		ix, err := newQueueIndex(ctx, stream)
		if err != nil {
			return err
		}
		b.offline.index = ix
	}
	return nil
}

// Conn returns the underlying NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// JetStream returns the JetStream context of the connection.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// Presence returns the presence store.
func (b *Bus) Presence() *Presence { return b.presence }

// Sessions returns the persistent-session store.
func (b *Bus) Sessions() *Sessions { return b.sessions }

// SessionNodes returns the record of which node keeps each persistent
// session.
func (b *Bus) SessionNodes() *SessionNodes { return b.homes }

// OfflineQueue returns the offline message queue.
func (b *Bus) OfflineQueue() *OfflineQueue { return b.offline }

// Close drains the connection and, when embedded, shuts the server down,
// which flushes JetStream to disk. Calling Close again returns the first
// result.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() {
		if err := b.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			b.closeErr = fmt.Errorf("bus: drain: %w", err)
			b.nc.Close()
		}
		// Drain is asynchronous; the closed handler fires when it is done
		// (bounded by the connection's drain timeout).
		<-b.closeWait
		b.shutdownServer()
	})
	return b.closeErr
}

func (b *Bus) shutdownServer() {
	if b.srv == nil {
		return
	}
	b.srv.Shutdown()
	b.srv.WaitForShutdown()
}
