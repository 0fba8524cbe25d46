package sdk

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultKeepAlive      = 240 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultMinBackoff     = 1 * time.Second
	DefaultMaxBackoff     = 60 * time.Second
	// MaxKeepAlive is the largest keepalive the platform accepts (§1.1).
	MaxKeepAlive = 900 * time.Second
)

// ErrInvalidConfig is wrapped by every configuration error New returns.
var ErrInvalidConfig = errors.New("sdk: invalid config")

// Config configures a device Client. Exactly one of DeviceSecret (key
// device) and a certificate (CertFile/KeyFile or Certificate) must be given.
type Config struct {
	// ProductID is the 10-character product id.
	ProductID string
	// DeviceName is the device name within the product.
	DeviceName string
	// DeviceSecret is the device key (PSK), base64 as issued by the platform.
	DeviceSecret string
	// CertFile and KeyFile are PEM files of the device certificate and its
	// private key (certificate devices).
	CertFile, KeyFile string
	// Certificate is the device certificate, instead of CertFile/KeyFile.
	Certificate *tls.Certificate
	// CAFile is a PEM file of the CA certificates that sign the server's
	// certificate (ssl:// and wss://), e.g. the output of `thingo` CA export.
	CAFile string
	// RootCAs is the CA pool, instead of CAFile. With neither, the system pool
	// is used.
	RootCAs *x509.CertPool
	// ServerName overrides the TLS server name (default: the broker host).
	ServerName string
	// Dialer dials the TCP connection of tcp:// and ssl:// brokers, e.g. to
	// choose the local source address (LocalAddr); nil: the default dialer.
	Dialer *net.Dialer
	// Broker is the server URL: tcp://host:1883, ssl://host:8883,
	// ws://host:8081/mqtt or wss://host:8444/mqtt. A WebSocket URL without a
	// path gets /mqtt.
	Broker string
	// TLSPSK makes a key device authenticate with TLS-PSK on an ssl://
	// broker (PROTOCOL.md §13.2), as the C SDK does in "TLS + key" mode:
	// PSK identity {ProductID}{DeviceName}, key the base64-decoded
	// DeviceSecret, and a CONNECT without password. No certificate is
	// involved: the shared key authenticates both sides, so CAFile, RootCAs
	// and Certificate are unused. ServerName, when set, is sent as SNI. A
	// handshake the server refuses for the credentials (unknown device,
	// wrong key) fails Connect at once with a *ConnectError of code
	// ConnackBadUsernameOrPassword, as a wrong password would.
	TLSPSK bool
	// SignMethod is "hmacsha256" (default) or "hmacsha1" (key devices).
	SignMethod string
	// KeepAlive is the MQTT keepalive, at most 900 s (default 240 s).
	KeepAlive time.Duration
	// CleanSession is the MQTT clean-session flag. False asks the platform
	// for a persistent session (§3); the official SDKs set it to true.
	CleanSession bool
	// ConnectTimeout bounds one connection attempt (default 10 s).
	ConnectTimeout time.Duration
	// RequestTimeout bounds a request waiting for its reply when the
	// caller's context has no earlier deadline (default 10 s).
	RequestTimeout time.Duration
	// MinBackoff and MaxBackoff bound the jittered reconnect delay
	// (default 1 s and 60 s).
	MinBackoff, MaxBackoff time.Duration
	// OnConnect, when set, is called after every successful connection
	// (sessionPresent as reported by CONNACK), once subscriptions are sent.
	// It and OnConnectionLost run on the client's network goroutines: keep
	// them short and do not call the client's blocking methods from them.
	OnConnect func(sessionPresent bool)
	// OnConnectionLost, when set, is called when an established connection
	// drops; the client then reconnects on its own.
	OnConnectionLost func(err error)
	// Logger receives the client's logs (default: discarded).
	Logger *slog.Logger
	// HTTPClient sends the device HTTP requests of UploadLogs (default
	// http.DefaultClient).
	HTTPClient *http.Client
}

// withDefaults validates c and fills its defaults.
func (c Config) withDefaults() (Config, error) {
	if !protocol.ValidProductID(c.ProductID) {
		return c, fmt.Errorf("%w: product id %q", ErrInvalidConfig, c.ProductID)
	}
	if !protocol.ValidDeviceName(c.DeviceName) {
		return c, fmt.Errorf("%w: device name %q", ErrInvalidConfig, c.DeviceName)
	}
	hasCert := c.Certificate != nil || c.CertFile != "" || c.KeyFile != ""
	switch {
	case c.DeviceSecret != "" && hasCert:
		return c, fmt.Errorf("%w: both a device secret and a certificate", ErrInvalidConfig)
	case c.DeviceSecret == "" && !hasCert:
		return c, fmt.Errorf("%w: neither a device secret nor a certificate", ErrInvalidConfig)
	case c.Certificate == nil && hasCert && (c.CertFile == "" || c.KeyFile == ""):
		return c, fmt.Errorf("%w: CertFile and KeyFile go together", ErrInvalidConfig)
	}
	if c.TLSPSK && c.DeviceSecret == "" {
		return c, fmt.Errorf("%w: TLSPSK needs a device secret", ErrInvalidConfig)
	}
	if c.SignMethod == "" {
		c.SignMethod = protocol.MethodHMACSHA256
	}
	if c.SignMethod != protocol.MethodHMACSHA256 && c.SignMethod != protocol.MethodHMACSHA1 {
		return c, fmt.Errorf("%w: sign method %q", ErrInvalidConfig, c.SignMethod)
	}
	if c.DeviceSecret != "" {
		if _, err := protocol.SignPassword(c.DeviceSecret, "probe", c.SignMethod); err != nil {
			return c, fmt.Errorf("%w: device secret: %w", ErrInvalidConfig, err)
		}
	}
	u, err := url.Parse(c.Broker)
	if err != nil || u.Host == "" {
		return c, fmt.Errorf("%w: broker URL %q", ErrInvalidConfig, c.Broker)
	}
	if c.TLSPSK && u.Scheme != "ssl" {
		return c, fmt.Errorf("%w: TLSPSK needs an ssl:// broker, not %q", ErrInvalidConfig, u.Scheme)
	}
	switch u.Scheme {
	case "tcp", "ssl":
	case "ws", "wss":
		if u.Path == "" {
			u.Path = "/mqtt"
			c.Broker = u.String()
		}
	default:
		return c, fmt.Errorf("%w: broker scheme %q (want tcp, ssl, ws or wss)", ErrInvalidConfig, u.Scheme)
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	if c.KeepAlive < time.Second || c.KeepAlive > MaxKeepAlive {
		return c, fmt.Errorf("%w: keepalive %v not in [1s, 900s]", ErrInvalidConfig, c.KeepAlive)
	}
	c.ConnectTimeout = orDefault(c.ConnectTimeout, DefaultConnectTimeout)
	c.RequestTimeout = orDefault(c.RequestTimeout, DefaultRequestTimeout)
	c.MinBackoff = orDefault(c.MinBackoff, DefaultMinBackoff)
	c.MaxBackoff = orDefault(c.MaxBackoff, DefaultMaxBackoff)
	if c.MaxBackoff < c.MinBackoff {
		return c, fmt.Errorf("%w: MaxBackoff %v < MinBackoff %v", ErrInvalidConfig, c.MaxBackoff, c.MinBackoff)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// secure reports whether the broker URL uses TLS.
func (c Config) secure() bool {
	return strings.HasPrefix(c.Broker, "ssl://") || strings.HasPrefix(c.Broker, "wss://")
}

// tlsConfig builds the TLS client configuration; nil for plain transports.
func (c Config) tlsConfig() (*tls.Config, error) {
	if c.TLSPSK {
		return nil, nil // the TLS-PSK dialer of the client does TLS
	}
	cert := c.Certificate
	if cert == nil && c.CertFile != "" {
		kp, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: device certificate: %w", ErrInvalidConfig, err)
		}
		cert = &kp
	}
	if !c.secure() {
		if cert != nil {
			return nil, fmt.Errorf("%w: a certificate device needs an ssl:// or wss:// broker", ErrInvalidConfig)
		}
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: c.RootCAs, ServerName: c.ServerName}
	if tc.RootCAs == nil && c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: CA file: %w", ErrInvalidConfig, err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: CA file %s holds no PEM certificate", ErrInvalidConfig, c.CAFile)
		}
	}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	return tc, nil
}

// credentials returns fresh MQTT client id, username and password (empty
// for certificate and TLS-PSK devices, whose TLS handshake authenticates).
func (c Config) credentials() (clientID, username, password string, err error) {
	if c.DeviceSecret != "" && !c.TLSPSK {
		return protocol.DeviceCredentials(c.ProductID, c.DeviceName, c.DeviceSecret, c.SignMethod, time.Time{})
	}
	u := protocol.Username{ProductID: c.ProductID, DeviceName: c.DeviceName,
		SDKAppID: protocol.DefaultSDKAppID, ConnID: randomString(5), Expiry: protocol.NeverExpires}
	return u.ClientID(), u.String(), "", nil
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomString returns n random alphanumeric characters.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
