// Package pahoconn opens the plain TCP connections of paho MQTT clients
// with a read buffer.
//
// paho reads a packet's fixed header one byte per Read and then its body,
// which on a bare TCP connection is three or more read system calls per
// packet, and one more for each packet that arrived in the same segment.
// Through a buffer, one system call takes what the socket holds.
//
// The SDK's client uses it for its own connections; any application that
// drives paho directly can call Use on its client options.
package pahoconn

import (
	"bufio"
	"fmt"
	"net"
	"net/url"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/net/proxy"
)

// ReadBuffer is the read buffer of a connection. A larger packet is read
// past it, straight into paho's packet buffer.
const ReadBuffer = 2048

// Use makes o open its brokers with a read buffer when they are all
// tcp:// or mqtt:// URLs (call it after AddBroker), dialling like paho
// does: with dialer (nil: o's dialer) through the proxy of ALL_PROXY and
// NO_PROXY, if any. Otherwise o keeps paho's own connection: TLS and
// WebSocket connections buffer their reads already.
func Use(o *mqtt.ClientOptions, dialer *net.Dialer) *mqtt.ClientOptions {
	if len(o.Servers) == 0 {
		return o
	}
	for _, u := range o.Servers {
		if !plain(u) {
			return o
		}
	}
	if dialer == nil {
		dialer = o.Dialer
	}
	return o.SetCustomOpenConnectionFn(func(u *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
		if !plain(u) {
			return nil, fmt.Errorf("pahoconn: broker %s is not tcp:// or mqtt://", u.Redacted())
		}
		c, err := proxy.FromEnvironmentUsing(dialer).Dial("tcp", u.Host)
		if err != nil {
			return nil, err
		}
		return &conn{Conn: c, r: bufio.NewReaderSize(c, ReadBuffer)}, nil
	})
}

func plain(u *url.URL) bool { return u.Scheme == "tcp" || u.Scheme == "mqtt" }

// conn is a net.Conn whose reads go through r.
type conn struct {
	net.Conn
	r *bufio.Reader
}

func (c *conn) Read(p []byte) (int, error) { return c.r.Read(p) }
