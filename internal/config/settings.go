package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// kind is the TOML type a setting accepts in the config file.
type kind int

const (
	kindString kind = iota // TOML string (also durations, addresses, URLs)
	kindInt                // TOML integer
	kindFloat              // TOML integer or float
)

// setting is one configurable value: its flag name, default, help text and
// how to parse it into a Config.
type setting struct {
	name  string
	def   string
	usage string
	kind  kind
	set   func(c *Config, v string) error
}

// settings lists every flag in the order of the usage text. The flag name
// gives the environment variable and the file key (see envName, fileKey).
var settings = []setting{
	{"data", "./thingo-data", "data directory", kindString, func(c *Config, v string) error {
		if v == "" {
			return errors.New("must not be empty")
		}
		c.DataDir = v
		return nil
	}},
	{"mqtt-addr", ":1883", "MQTT listener host:port, or off", kindString, addrSetter(func(c *Config) *string { return &c.MQTTAddr })},
	{"mqtts-addr", ":8883", "MQTT over TLS listener host:port, or off", kindString, addrSetter(func(c *Config) *string { return &c.MQTTSAddr })},
	{"ws-addr", ":8081", "MQTT over WebSocket listener host:port, or off", kindString, addrSetter(func(c *Config) *string { return &c.WSAddr })},
	{"wss-addr", ":8444", "MQTT over secure WebSocket listener host:port, or off", kindString, addrSetter(func(c *Config) *string { return &c.WSSAddr })},
	{"http-addr", ":8080", "HTTP listener (console, API, dynamic registration, downloads) host:port, or off", kindString, addrSetter(func(c *Config) *string { return &c.HTTPAddr })},
	{"public-url", "", "absolute http(s) URL of the HTTP listener (default derived from --http-addr)", kindString, setPublicURL},
	{"database-url", "", "postgres:// URL; empty means SQLite at <data>/thingo.db", kindString, setDatabaseURL},
	{"nats-url", "", "NATS URLs (nats://, tls://, ws://, wss://, comma-separated); empty means embedded", kindString, setNATSURL},
	{"nats-replicas", "1", "replicas of Thingo's JetStream streams and buckets on a NATS cluster (1..5; 1 with the embedded server)", kindInt, func(c *Config, v string) error {
		n, err := parseInt(v, 1, 5)
		c.NATSReplicas = n
		return err
	}},
	{"log-format", "text", "log format: text or json", kindString, func(c *Config, v string) error {
		if v != "text" && v != "json" {
			return fmt.Errorf("%q is not a log format (want text or json)", v)
		}
		c.LogFormat = v
		return nil
	}},
	{"log-level", "info", "log level: debug, info, warn or error", kindString, setLogLevel},
	{"tls-cert", "", "server certificate PEM file for the TLS listeners (with --tls-key)", kindString, func(c *Config, v string) error { c.TLSCert = v; return nil }},
	{"tls-key", "", "server private key PEM file (with --tls-cert)", kindString, func(c *Config, v string) error { c.TLSKey = v; return nil }},
	{"ca-cert", "", "device CA certificate PEM file (with --ca-key)", kindString, func(c *Config, v string) error { c.CACert = v; return nil }},
	{"ca-key", "", "device CA private key PEM file (with --ca-cert)", kindString, func(c *Config, v string) error { c.CAKey = v; return nil }},
	{"secret-key-file", "", "key file that encrypts device secrets at rest (default <data>/secret.key)", kindString, func(c *Config, v string) error { c.SecretKeyFile = v; return nil }},
	{"uplink-rate", "30", "messages per second one device may publish", kindFloat, rateSetter(func(c *Config) *float64 { return &c.UplinkRate })},
	{"downlink-rate", "50", "messages per second sent to one device", kindFloat, rateSetter(func(c *Config) *float64 { return &c.DownlinkRate })},
	{"max-payload", "16384", "largest MQTT payload in bytes (1..268435455)", kindInt, func(c *Config, v string) error {
		n, err := parseInt(v, 1, 268435455)
		c.MaxPayload = n
		return err
	}},
	{"max-keepalive", "900s", "largest MQTT keepalive a device may ask for (1s..65535s)", kindString, durationSetter(func(c *Config) *time.Duration { return &c.MaxKeepalive }, time.Second, 65535*time.Second)},
	{"offline-limit", "150", "QoS 1 messages kept per offline persistent session", kindInt, func(c *Config, v string) error {
		n, err := parseInt(v, 1, math.MaxInt32)
		c.OfflineLimit = n
		return err
	}},
	{"offline-max-age", "168h", "how long messages for offline sessions are kept", kindString, durationSetter(func(c *Config) *time.Duration { return &c.OfflineMaxAge }, 1, math.MaxInt64)},
	{"session-expiry", "24h", "how long a persistent session without a connection is kept", kindString, durationSetter(func(c *Config) *time.Duration { return &c.SessionExpiry }, 1, math.MaxInt64)},
	{"offline-pacing", "500ms", "pause between stored messages re-delivered on reconnect", kindString, durationSetter(func(c *Config) *time.Duration { return &c.OfflinePacing }, time.Millisecond, math.MaxInt64)},
	{"blob-url", "", "file storage: empty means <data>/files; s3://bucket[/prefix]?endpoint=host:port&region=r&secure=false&path_style=true", kindString, setBlobURL},
	{"download-link-ttl", "24h", "lifetime of signed file download links (>= 1s)", kindString, durationSetter(func(c *Config) *time.Duration { return &c.DownloadLinkTTL }, time.Second, math.MaxInt64)},
	{"shutdown-timeout", "10s", "bound on graceful shutdown", kindString, durationSetter(func(c *Config) *time.Duration { return &c.ShutdownTimeout }, 1, math.MaxInt64)},
	{"pprof-addr", "off", "net/http/pprof listener on a loopback host:port (127.0.0.1, [::1] or localhost), or off", kindString, setPprofAddr},
}

// pairs are settings that must be given together.
var pairs = [][2]string{{"tls-cert", "tls-key"}, {"ca-cert", "ca-key"}}

// envName is the environment variable of a flag: THINGO_FOO_BAR for foo-bar.
func envName(flagName string) string {
	return "THINGO_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// fileKey is the config file key of a flag: foo_bar for foo-bar.
func fileKey(flagName string) string {
	return strings.ReplaceAll(flagName, "-", "_")
}

func joinData(dataDir, name string) string {
	return filepath.Join(dataDir, name)
}

func addrSetter(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "off" {
			*field(c) = ""
			return nil
		}
		if err := checkAddr(v); err != nil {
			return err
		}
		*field(c) = v
		return nil
	}
}

// checkAddr accepts host:port with a numeric port 0..65535; the host may be
// empty (all interfaces).
func checkAddr(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not host:port or off", v)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q has an invalid host", v)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p > 65535 {
		return fmt.Errorf("%q has an invalid port (want 0..65535)", v)
	}
	return nil
}

func setPublicURL(c *Config, v string) error {
	if v == "" {
		c.PublicURL = ""
		return nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Errorf("%q is not a URL", v)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http:// or https:// URL", v)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q must not have a query, fragment or user info", v)
	}
	c.PublicURL = strings.TrimRight(v, "/")
	return nil
}

// derivePublicURL builds the default public URL from the HTTP address; it
// returns "" when HTTP is off or the port is chosen at listen time.
func derivePublicURL(httpAddr string) string {
	if httpAddr == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(httpAddr)
	if err != nil || port == "0" {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func setDatabaseURL(c *Config, v string) error {
	if v == "" {
		c.DatabaseURL = ""
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// Do not echo the value: it may hold a password.
		return errors.New("must be empty (SQLite in the data directory) or a postgres:// or postgresql:// URL")
	}
	c.DatabaseURL = v
	return nil
}

func setNATSURL(c *Config, v string) error {
	if v == "" {
		c.NATSURL = ""
		return nil
	}
	for part := range strings.SplitSeq(v, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil || u.Host == "" {
			return errors.New("must be empty (embedded NATS) or nats://, tls://, ws:// or wss:// URLs separated by commas")
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return fmt.Errorf("scheme %q is not nats, tls, ws or wss", u.Scheme)
		}
	}
	c.NATSURL = v
	return nil
}

func setLogLevel(c *Config, v string) error {
	levels := map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo,
		"warn": slog.LevelWarn, "error": slog.LevelError,
	}
	l, ok := levels[v]
	if !ok {
		return fmt.Errorf("%q is not a log level (want debug, info, warn or error)", v)
	}
	c.LogLevel = l
	return nil
}

func rateSetter(field func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%q is not a number", v)
		}
		if f <= 0 {
			return fmt.Errorf("%q must be greater than 0", v)
		}
		*field(c) = f
		return nil
	}
}

func parseInt(v string, lo, hi int) (int, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", v)
	}
	if n < int64(lo) || n > int64(hi) {
		return 0, fmt.Errorf("%q is out of range %d..%d", v, lo, hi)
	}
	return int(n), nil
}

func durationSetter(field func(*Config) *time.Duration, lo, hi time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration (e.g. 500ms, 10s, 24h)", v)
		}
		if d < lo || d > hi {
			switch {
			case hi == math.MaxInt64 && lo == 0:
				return fmt.Errorf("%q must not be negative", v)
			case hi == math.MaxInt64:
				return fmt.Errorf("%q must be greater than 0", v)
			default:
				return fmt.Errorf("%q is out of range %v..%v", v, lo, hi)
			}
		}
		*field(c) = d
		return nil
	}
}

// setBlobURL accepts an empty value or an s3://bucket URL; the query is
// checked when the store is opened.
func setBlobURL(c *Config, v string) error {
	if v == "" {
		c.BlobURL = ""
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User != nil {
		// Do not echo the value: it may hold a credential.
		return errors.New("must be empty or s3://bucket[/prefix]?endpoint=host:port")
	}
	c.BlobURL = v
	return nil
}

// setPprofAddr accepts off or a loopback host:port: the profiler exposes
// memory contents and must not be reachable from the network.
func setPprofAddr(c *Config, v string) error {
	if v == "off" {
		c.PprofAddr = ""
		return nil
	}
	if err := checkAddr(v); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(v) // checked above
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%q is not a loopback address (use 127.0.0.1, [::1] or localhost; reach a remote profiler through an SSH tunnel)", v)
	}
	c.PprofAddr = v
	return nil
}
