package broker

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/protocol"
)

const (
	testPID      = "ABCDEF1234"
	testPassword = "secret"
)

// fakeAuth accepts {pid}{dn} client ids with username "{pid}{dn};..." and
// password testPassword, or a verified client certificate whose CN is the
// client id. Device names starting with "disabled" are refused with 0x05,
// "broken" fails internally.
type fakeAuth struct {
	mu    sync.Mutex
	certs map[string]string // client id -> CN of the certificate presented
}

func (a *fakeAuth) Authenticate(_ context.Context, r devauth.ConnectRequest) (devauth.Identity, error) {
	if len(r.ClientID) <= len(testPID) || !strings.HasPrefix(r.ClientID, testPID) {
		return devauth.Identity{}, &devauth.Error{Code: protocol.ConnackIdentifierRejected, Err: devauth.ErrBadClientID}
	}
	dn := r.ClientID[len(testPID):]
	switch {
	case strings.HasPrefix(dn, "disabled"):
		return devauth.Identity{}, &devauth.Error{Code: protocol.ConnackNotAuthorized, Err: devauth.ErrDisabled}
	case strings.HasPrefix(dn, "broken"):
		return devauth.Identity{}, errors.New("database down")
	}
	switch {
	case len(r.PeerCertificates) > 0:
		if r.PeerCertificates[0].Subject.CommonName != r.ClientID {
			return devauth.Identity{}, &devauth.Error{Code: protocol.ConnackBadUsernameOrPassword, Err: devauth.ErrCertificate}
		}
		a.mu.Lock()
		if a.certs == nil {
			a.certs = make(map[string]string)
		}
		a.certs[r.ClientID] = r.PeerCertificates[0].Subject.CommonName
		a.mu.Unlock()
	case string(r.Password) != testPassword || !strings.HasPrefix(r.Username, r.ClientID+";"):
		return devauth.Identity{}, &devauth.Error{Code: protocol.ConnackBadUsernameOrPassword, Err: devauth.ErrBadSignature}
	}
	return devauth.Identity{
		ProductID:  testPID,
		DeviceName: dn,
		ClientID:   r.ClientID,
		Method:     "hmacsha256",
		ACL:        devauth.NewACL(testPID, dn, false, nil),
	}, nil
}

func (a *fakeAuth) certCN(clientID string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.certs[clientID]
}

type event struct {
	kind   string // connected, disconnected, dropped
	client string
	topic  string
	reason string
	conn   Connection
}

// recorder is an Observer and Handler that remembers everything.
type recorder struct {
	mu      sync.Mutex
	events  []event
	uplinks []event
}

func (r *recorder) Connected(id devauth.Identity, c Connection) {
	r.add(event{kind: "connected", client: id.ClientID, conn: c})
}

func (r *recorder) Disconnected(id devauth.Identity, _ time.Time, reason string) {
	r.add(event{kind: "disconnected", client: id.ClientID, reason: reason})
}

func (r *recorder) Dropped(id devauth.Identity, topic, reason string) {
	r.add(event{kind: "dropped", client: id.ClientID, topic: topic, reason: reason})
}

func (r *recorder) HandleUplink(_ context.Context, id devauth.Identity, topic string, payload []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.uplinks = append(r.uplinks, event{client: id.ClientID, topic: topic, reason: string(payload)})
}

func (r *recorder) add(e event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) find(kind, reason string) []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event
	for _, e := range r.events {
		if e.kind == kind && (reason == "" || e.reason == reason) {
			out = append(out, e)
		}
	}
	return out
}

func (r *recorder) all() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

func (r *recorder) ups() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.uplinks...)
}

// checkFor polls f until it returns nil or the timeout expires.
func checkFor(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", timeout, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testBroker starts a broker on loopback port 0 and stops it at cleanup.
type testBroker struct {
	*Broker
	auth *fakeAuth
	rec  *recorder
	stop func()
}

func startBroker(t testing.TB, o Options, deps Deps) *testBroker {
	t.Helper()
	if o.TCPAddr == "" && o.TLSAddr == "" && o.WSAddr == "" && o.WSSAddr == "" {
		o.TCPAddr = "127.0.0.1:0"
	}
	tb := &testBroker{auth: &fakeAuth{}, rec: &recorder{}}
	if deps.Authenticator == nil {
		deps.Authenticator = tb.auth
	}
	if deps.Observer == nil {
		deps.Observer = tb.rec
	}
	if deps.Handler == nil {
		deps.Handler = tb.rec
	}
	b, err := New(o, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tb.Broker = b
	tb.stop = tb.runInBackground(t)
	t.Cleanup(tb.stop)
	return tb
}

func (tb *testBroker) runInBackground(t testing.TB) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tb.Run(ctx) }()
	select {
	case <-tb.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("broker not ready")
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run returned %v", err)
			}
		})
	}
}

func (tb *testBroker) url(name string) string {
	scheme := map[string]string{ListenerTCP: "tcp", ListenerTLS: "ssl", ListenerWS: "ws", ListenerWSS: "wss"}[name]
	u := scheme + "://" + tb.Addr(name).String()
	if name == ListenerWS || name == ListenerWSS {
		u += WebSocketPath
	}
	return u
}

type clientOpts struct {
	url      string
	dn       string
	password string
	clean    bool
	level    uint
	tls      *tls.Config
	onMsg    paho.MessageHandler
	lost     func(error)
	keep     time.Duration
	will     bool
}

// dial connects a paho client; it returns the client even when the
// connection was refused, with the CONNACK code.
func dial(t testing.TB, o clientOpts) (paho.Client, byte, bool, error) {
	t.Helper()
	id := testPID + o.dn
	po := paho.NewClientOptions().
		AddBroker(o.url).
		SetClientID(id).
		SetUsername(id + ";12010126;abcde;2147483647").
		SetPassword(o.password).
		SetCleanSession(o.clean).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(5 * time.Second).
		SetKeepAlive(60 * time.Second).
		SetTLSConfig(o.tls).
		SetProtocolVersion(4)
	if o.level != 0 {
		po.SetProtocolVersion(o.level)
	}
	if o.keep != 0 {
		po.SetKeepAlive(o.keep)
	}
	if o.onMsg != nil {
		po.SetDefaultPublishHandler(o.onMsg)
	}
	if o.lost != nil {
		po.SetConnectionLostHandler(func(_ paho.Client, err error) { o.lost(err) })
	}
	if o.will {
		po.SetWill(testPID+"/"+o.dn+"/data", "gone", 1, true)
	}
	c := paho.NewClient(po)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("connect timed out")
	}
	ct := tok.(*paho.ConnectToken)
	return c, ct.ReturnCode(), ct.SessionPresent(), tok.Error()
}

// mustDial connects or fails the test; the client is disconnected at cleanup.
func mustDial(t testing.TB, o clientOpts) paho.Client {
	t.Helper()
	if o.password == "" && o.tls == nil {
		o.password = testPassword
	}
	c, code, _, err := dial(t, o)
	if err != nil || code != 0 {
		t.Fatalf("connect %s: code %d, %v", o.dn, code, err)
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func wait(t testing.TB, tok paho.Token) {
	t.Helper()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("token timed out")
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("token: %v", err)
	}
}

// rawClient speaks MQTT with mochi's codec, for what paho cannot send.
type rawClient struct {
	c net.Conn
	r *bufio.Reader
}

func rawDial(t testing.TB, addr net.Addr) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{c: c, r: bufio.NewReader(c)}
}

func (rc *rawClient) send(t testing.TB, pk packets.Packet) {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&buf)
	default:
		err = fmt.Errorf("unsupported packet %d", pk.FixedHeader.Type)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.c.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// read returns the next packet, or an error when the connection closed.
func (rc *rawClient) read(level byte) (packets.Packet, error) {
	_ = rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var pk packets.Packet
	b, err := rc.r.ReadByte()
	if err != nil {
		return pk, err
	}
	if err := pk.FixedHeader.Decode(b); err != nil {
		return pk, err
	}
	n, _, err := packets.DecodeLength(rc.r)
	if err != nil {
		return pk, err
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(rc.r, body); err != nil {
		return pk, err
	}
	pk.FixedHeader.Remaining = n
	pk.ProtocolVersion = level
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackDecode(body)
	case packets.Suback:
		err = pk.SubackDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Publish:
		err = pk.PublishDecode(body)
	}
	return pk, err
}

func connectPacket(dn string, level byte, clean bool) packets.Packet {
	id := testPID + dn
	name := []byte("MQTT")
	if level == 3 {
		name = []byte("MQIsdp")
	}
	return packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Connect},
		ProtocolVersion: level,
		Connect: packets.ConnectParams{
			ProtocolName:     name,
			Clean:            clean,
			Keepalive:        60,
			ClientIdentifier: id,
			UsernameFlag:     true,
			Username:         []byte(id + ";12010126;abcde;2147483647"),
			PasswordFlag:     true,
			Password:         []byte(testPassword),
		},
	}
}
