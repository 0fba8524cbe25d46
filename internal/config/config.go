// Package config holds Thingo's one configuration struct and loads it from
// `thingo serve` flags, THINGO_* environment variables and an optional TOML
// file. Precedence is flag > environment > file > default. Every flag
// --foo-bar has the environment variable THINGO_FOO_BAR and the file key
// foo_bar. Invalid values, unknown flags and unknown file keys are errors
// that say where the value came from.
package config

import (
	"errors"
	"log/slog"
	"time"
)

// Config is the complete server configuration. The doc comment of each field
// is the configuration reference; docs/configuration.md repeats it for
// operators.
type Config struct {
	// ConfigFile is the TOML file the configuration was read from
	// (--config, THINGO_CONFIG); empty when none was given.
	ConfigFile string

	// DataDir is the data directory (--data, default ./thingo-data). It holds
	// the SQLite database, the generated CA and server certificate, the
	// secret key and the admin API credential.
	DataDir string

	// MQTTAddr is the plain MQTT listener (--mqtt-addr, default :1883).
	// Empty when disabled with `off`.
	MQTTAddr string
	// MQTTSAddr is the MQTT over TLS listener, for certificate and TLS-PSK
	// devices (--mqtts-addr, default :8883). Empty when disabled with `off`.
	MQTTSAddr string
	// WSAddr is the MQTT over WebSocket listener, path /mqtt (--ws-addr,
	// default :8081). Empty when disabled with `off`.
	WSAddr string
	// WSSAddr is the MQTT over secure WebSocket listener, path /mqtt
	// (--wss-addr, default :8444). Empty when disabled with `off`.
	WSSAddr string
	// HTTPAddr is the HTTP listener for the console, the management API,
	// dynamic registration and file downloads (--http-addr, default :8080).
	// Empty when disabled with `off`.
	HTTPAddr string

	// PublicURL is the absolute http(s) URL devices and users reach the HTTP
	// listener at; it is used in download links (--public-url). The default
	// is derived from HTTPAddr (":8080" gives http://localhost:8080). It is
	// empty when HTTPAddr is off or uses port 0 and no URL was given; the
	// caller then derives it from the bound listener. No trailing slash.
	PublicURL string

	// DatabaseURL selects the store (--database-url). Empty means SQLite at
	// <data>/thingo.db (see SQLitePath); a postgres:// or postgresql:// URL
	// means PostgreSQL.
	DatabaseURL string

	// NATSURL is the NATS server or cluster to use (--nats-url): one or more
	// comma-separated nats://, tls://, ws:// or wss:// URLs. Empty starts an
	// embedded NATS server.
	NATSURL string

	// NATSReplicas is the replica count of the JetStream streams and
	// key-value buckets Thingo creates (--nats-replicas, 1..5, default 1).
	// On a NATS cluster, 3 keeps presence, sessions and offline queues
	// through the loss of one NATS server; the embedded server takes 1.
	NATSReplicas int

	// LogFormat is the log output format, "text" or "json" (--log-format,
	// default text).
	LogFormat string
	// LogLevel is the minimum log level: debug, info, warn or error
	// (--log-level, default info).
	LogLevel slog.Level

	// TLSCert and TLSKey are PEM files of the server certificate and key
	// presented on the TLS listeners (--tls-cert, --tls-key; both or
	// neither). When unset, a server certificate signed by the CA is
	// generated in the data directory.
	TLSCert string
	TLSKey  string

	// CACert and CAKey are PEM files of the CA that verifies and issues device
	// certificates (--ca-cert, --ca-key; both or neither). When unset, a
	// self-signed CA is generated in the data directory.
	CACert string
	CAKey  string

	// SecretKeyFile is the key file that encrypts device secrets at rest
	// (--secret-key-file, default <data>/secret.key).
	SecretKeyFile string

	// UplinkRate is the number of messages per second one device may publish
	// (--uplink-rate, default 30, > 0).
	UplinkRate float64
	// DownlinkRate is the number of messages per second the platform sends to
	// one device (--downlink-rate, default 50, > 0).
	DownlinkRate float64
	// MaxPayload is the largest MQTT payload accepted, in bytes
	// (--max-payload, default 16384, 1..268435455).
	MaxPayload int
	// MaxKeepalive is the largest MQTT keepalive a device may ask for
	// (--max-keepalive, default 900s, 1s..65535s).
	MaxKeepalive time.Duration
	// OfflineLimit is how many QoS 1 messages are kept per offline persistent
	// session (--offline-limit, default 150, > 0).
	OfflineLimit int
	// OfflineMaxAge is how long a message for an offline persistent session
	// is kept (--offline-max-age, default 168h, > 0).
	OfflineMaxAge time.Duration
	// SessionExpiry is how long a persistent session without a connection is
	// kept (--session-expiry, default 24h, > 0).
	SessionExpiry time.Duration
	// OfflinePacing is the pause between stored messages re-delivered on
	// reconnect (--offline-pacing, default 500ms, >= 0).
	OfflinePacing time.Duration
	// ShutdownTimeout bounds graceful shutdown (--shutdown-timeout, default
	// 10s, > 0).
	ShutdownTimeout time.Duration

	// PprofAddr is the loopback address of the net/http/pprof profiler, a
	// listener of its own apart from HTTPAddr (--pprof-addr, default off).
	// Only 127.0.0.0/8, ::1 and localhost are accepted. Empty when off.
	PprofAddr string

	// BlobURL selects where firmware and resource files are stored
	// (--blob-url). Empty means the directory <data>/files; an
	// s3://bucket[/prefix]?endpoint=host:port[&region=r][&secure=false]
	// [&path_style=true] URL means an S3-compatible bucket. Files are always
	// served to devices through Thingo's own signed links.
	BlobURL string
	// S3AccessKey and S3SecretKey are the S3 credential, read only from
	// THINGO_S3_ACCESS_KEY and THINGO_S3_SECRET_KEY.
	S3AccessKey string
	S3SecretKey string
	// DownloadLinkTTL is how long a signed file download link stays valid
	// (--download-link-ttl, default 24h, >= 1s).
	DownloadLinkTTL time.Duration

	// AdminSecretID and AdminSecretKey are the management API credential,
	// read only from THINGO_ADMIN_SECRET_ID and THINGO_ADMIN_SECRET_KEY (both
	// or neither). When unset, the credential stored in the data directory is
	// used.
	AdminSecretID  string
	AdminSecretKey string
}

// DefaultDownloadLinkTTL is the default of DownloadLinkTTL.
const DefaultDownloadLinkTTL = 24 * time.Hour

// SQLitePath is the SQLite database file used when DatabaseURL is empty.
func (c Config) SQLitePath() string {
	return joinData(c.DataDir, "thingo.db")
}

// ErrUsage matches every configuration error (errors.Is); the command should
// report it and exit with status 2.
var ErrUsage = errors.New("invalid configuration")

// Error is a configuration error and the place it came from.
type Error struct {
	// Where is "flag --name", "env THINGO_NAME", "FILE:key", "default" or,
	// for errors about the command line as a whole, "flags".
	Where string
	Err   error
}

// Error implements error.
func (e *Error) Error() string { return e.Where + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is ErrUsage.
func (e *Error) Is(target error) bool { return target == ErrUsage }
