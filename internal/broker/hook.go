package broker

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/thingo-iot/thingo/internal/devauth"
)

// CONNACK return codes of MQTT 3.1.1 the broker sends itself.
const (
	connackBadProtocol       byte = 0x01
	connackServerUnavailable byte = 0x03
)

// Reasons a connection is closed by the broker. They wrap
// packets.ErrRejectPacket, which makes mochi close the connection when an
// OnPacketRead hook returns them, whatever other hooks say.
var (
	errQoS2          = fmt.Errorf("qos 2 publish not supported: %w", packets.ErrRejectPacket)
	errPayloadSize   = fmt.Errorf("payload too large: %w", packets.ErrRejectPacket)
	errRefused       = errors.New("broker: connection refused")
	errDisconnected  = errors.New("disconnected by the platform")
	errSessionExpiry = errors.New("session expired")
)

// denyAll is the permission set of an identity without an ACL.
type denyAll struct{}

func (denyAll) CanPublish(string) bool   { return false }
func (denyAll) CanSubscribe(string) bool { return false }

func identityPermissions(id devauth.Identity) Permissions {
	if id.ACL == nil {
		return denyAll{}
	}
	return id.ACL
}

// accessHook is the broker's single mochi hook: authentication, ACL and the
// device protocol rules. Every denial is final by construction: a refused
// CONNECT is answered and closed in OnConnect (mochi stops at the first
// OnConnect error), a denied PUBLISH is rejected in OnPublish
// (packets.ErrRejectPacket stops the hook chain and the publish), and a
// denied subscription filter is rewritten to an invalid one, which mochi
// answers with SUBACK 0x80 before it consults any ACL.
type accessHook struct {
	mqtt.HookBase
	b *Broker
}

func (h *accessHook) ID() string { return "thingo-access" }

func (h *accessHook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnConnectAuthenticate,
		mqtt.OnACLCheck,
		mqtt.OnConnect,
		mqtt.OnSessionEstablish,
		mqtt.OnSessionEstablished,
		mqtt.OnDisconnect,
		mqtt.OnPacketRead,
		mqtt.OnSubscribe,
		mqtt.OnPublish,
		mqtt.OnPublishDropped,
		mqtt.OnClientExpired,
	}, []byte{b})
}

// OnConnectAuthenticate allows the connections OnConnect accepted; the
// decision itself is made there.
func (h *accessHook) OnConnectAuthenticate(cl *mqtt.Client, _ packets.Packet) bool {
	return h.b.connOf(cl) != nil
}

// OnACLCheck mirrors the connection's subscribe permissions for mochi's own
// checks. It is not where denials are enforced (mochi OR-combines it across
// hooks). Publishes of authenticated devices pass here and are judged in
// OnPublish: mochi disconnects an MQTT 3.x client whose QoS1 PUBLISH fails
// this check, while PROTOCOL.md §2 wants it acknowledged and dropped.
func (h *accessHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if cl.Net.Inline {
		return true
	}
	c := h.b.connOf(cl)
	if c == nil {
		return false
	}
	if write {
		return true
	}
	return c.perms.CanSubscribe(topic)
}

// OnPacketRead runs on every packet before mochi processes it.
func (h *accessHook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	switch pk.FixedHeader.Type {
	case packets.Connect:
		// A Will is accepted and never published (PROTOCOL.md §1.3); make
		// it pass mochi's QoS/retain validation, OnConnect discards it.
		if pk.Connect.WillQos > 1 {
			pk.Connect.WillQos = 1
		}
		pk.Connect.WillRetain = false
		return pk, nil
	case packets.Publish:
		return h.b.readPublish(cl, pk)
	}
	return pk, nil
}

// OnConnect authenticates the device and answers a refusal itself.
func (h *accessHook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	return h.b.connect(cl, pk)
}

// OnSessionEstablish runs after authentication, before mochi takes over an
// existing session and sends CONNACK.
func (h *accessHook) OnSessionEstablish(cl *mqtt.Client, pk packets.Packet) {
	h.b.establish(cl, pk)
}

// OnSessionEstablished runs after CONNACK was sent.
func (h *accessHook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	h.b.established(cl)
}

// OnDisconnect runs when an accepted or refused connection ends.
func (h *accessHook) OnDisconnect(cl *mqtt.Client, err error, _ bool) {
	h.b.disconnected(cl, err)
}

// OnSubscribe rewrites denied filters to an invalid one (SUBACK 0x80) and
// grants QoS 2 requests at QoS 1.
func (h *accessHook) OnSubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if cl.Net.Inline {
		return pk
	}
	var perms Permissions = denyAll{}
	if c := h.b.connOf(cl); c != nil {
		perms = c.perms
	}
	filters := make(packets.Subscriptions, len(pk.Filters))
	for i, f := range pk.Filters {
		if !perms.CanSubscribe(f.Filter) {
			h.b.log.Debug("subscription denied", "client", cl.ID, "filter", f.Filter)
			f.Filter = "" // invalid: mochi answers 0x80 to an MQTT 3 client
		}
		if f.Qos > 1 {
			f.Qos = 1
		}
		filters[i] = f
	}
	pk.Filters = filters
	return pk
}

// OnPublish admits or rejects a device's PUBLISH (ACL, rate, uplink queue).
func (h *accessHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	c := h.b.connOf(cl)
	if c == nil || !h.b.admitUplink(c, pk) {
		if pk.FixedHeader.Qos == 1 {
			h.b.ack(cl, pk)
		}
		return pk, packets.ErrRejectPacket
	}
	pk.FixedHeader.Retain = false // RETAIN is ignored: delivered, never retained
	return pk, nil
}

// OnPublishDropped is called when mochi drops a message because the
// receiving connection's outbound buffer is full.
func (h *accessHook) OnPublishDropped(cl *mqtt.Client, pk packets.Packet) {
	if h.b.markDropped(cl.ID, pk) {
		return
	}
	if c := h.b.connOf(cl); c != nil {
		h.b.observeDropped(c.id, pk.TopicName, DropDownlink)
	}
}

// OnClientExpired is called when a persistent session outlived
// Options.SessionExpiry.
func (h *accessHook) OnClientExpired(cl *mqtt.Client) {
	h.b.expired(cl)
}

// connect is the CONNECT decision.
func (b *Broker) connect(cl *mqtt.Client, pk packets.Packet) error {
	if pk.ProtocolVersion > 4 {
		cl.Properties.ProtocolVersion = 4 // answer in MQTT 3.1.1 form
		b.refuse(cl, connackBadProtocol)
		return fmt.Errorf("%w: protocol level %d", errRefused, pk.ProtocolVersion)
	}
	b.mu.Lock()
	runCtx := b.runCtx
	b.mu.Unlock()

	req := devauth.ConnectRequest{
		ClientID:      pk.Connect.ClientIdentifier,
		Username:      string(pk.Connect.Username),
		Password:      pk.Connect.Password,
		ProtocolLevel: pk.ProtocolVersion,
		RemoteAddr:    cl.Net.Remote,
	}
	if tc, ok := cl.Net.Conn.(interface{ ConnectionState() tls.ConnectionState }); ok {
		req.PeerCertificates = verifiedChain(tc.ConnectionState())
	}
	if pc, ok := cl.Net.Conn.(interface{ PSKIdentity() string }); ok {
		req.PSKIdentity = pc.PSKIdentity()
	}
	ctx, cancel := context.WithTimeout(runCtx, b.opts.ConnectTimeout)
	defer cancel()
	id, err := b.deps.Authenticator.Authenticate(ctx, req)
	if err != nil {
		code := connackCode(err)
		b.log.Info("connection refused", "client", req.ClientID, "remote", req.RemoteAddr, "code", code, "error", err)
		b.refuse(cl, code)
		return fmt.Errorf("%w: %w", errRefused, err)
	}
	if id.ClientID == "" {
		id.ClientID = cl.ID
	}
	id.ProtocolLevel = pk.ProtocolVersion

	keepalive := time.Duration(cl.State.Keepalive) * time.Second
	if keepalive == 0 || keepalive > b.opts.MaxKeepAlive {
		keepalive = b.opts.MaxKeepAlive
		cl.State.Keepalive = uint16(b.opts.MaxKeepAlive / time.Second)
		cl.State.ServerKeepalive = true
	}
	willTopic := ""
	if pk.Connect.WillFlag {
		willTopic = pk.Connect.WillTopic
	}
	cl.Properties.Will = mqtt.Will{} // never published

	added := b.addConn(cl, &conn{
		id:       id,
		perms:    identityPermissions(id),
		listener: cl.Net.Listener,
		remote:   cl.Net.Remote,
		level:    pk.ProtocolVersion,
		alive:    keepalive,
		limiter:  newRateLimiter(b.opts.UplinkRate, time.Now()),
		will:     willTopic,
	})
	if !added {
		b.refuse(cl, connackServerUnavailable)
		return fmt.Errorf("%w: broker stopping", errRefused)
	}
	return nil
}

// verifiedChain returns the verified client certificate chain, leaf first.
func verifiedChain(cs tls.ConnectionState) []*x509.Certificate {
	if len(cs.VerifiedChains) == 0 {
		return nil
	}
	return cs.VerifiedChains[0]
}

// connackCode is the CONNACK return code an Authenticate error carries;
// errors without one are internal failures: 0x03, server unavailable.
func connackCode(err error) byte {
	var coded interface{ ConnackCode() byte }
	if errors.As(err, &coded) {
		if c := coded.ConnackCode(); c != 0 {
			return c
		}
	}
	return connackServerUnavailable
}

// refuse answers a CONNECT with an MQTT 3 return code; mochi then closes.
func (b *Broker) refuse(cl *mqtt.Client, code byte) {
	err := cl.WritePacket(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Connack},
		ReasonCode:  code,
	})
	if err != nil {
		b.log.Debug("write connack failed", "client", cl.ID, "error", err)
	}
}

// ack acknowledges a QoS1 PUBLISH the broker drops: MQTT 3.1.1 has no
// negative acknowledgement, and an unacknowledged message would be resent.
func (b *Broker) ack(cl *mqtt.Client, pk packets.Packet) {
	err := cl.WritePacket(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Puback},
		PacketID:    pk.PacketID,
	})
	if err != nil {
		b.log.Debug("write puback failed", "client", cl.ID, "error", err)
	}
}

// readPublish applies the rules that close the connection (QoS 2, size) and
// handles `$sys/...` topics, which mochi silently discards as $SYS topics
// before any OnPublish hook runs.
func (b *Broker) readPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	c := b.connOf(cl)
	if c == nil {
		return pk, fmt.Errorf("publish before authentication: %w", packets.ErrRejectPacket)
	}
	if pk.FixedHeader.Qos > 1 {
		b.observeDropped(c.id, pk.TopicName, DropQoS2)
		return pk, errQoS2
	}
	if len(pk.Payload) > b.opts.MaxPayload {
		b.observeDropped(c.id, pk.TopicName, DropSize)
		return pk, errPayloadSize
	}
	if !isSysTopic(pk.TopicName) {
		return pk, nil
	}
	b.admitUplink(c, pk)
	if pk.FixedHeader.Qos == 1 {
		b.ack(cl, pk)
	}
	// mochi now drops the packet as a $SYS publish; at QoS 0 it sends nothing.
	pk.FixedHeader.Qos = 0
	pk.PacketID = 0
	pk.FixedHeader.Retain = false
	return pk, nil
}

func isSysTopic(topic string) bool {
	return len(topic) >= 4 && strings.EqualFold(topic[:4], "$sys")
}
