package tlspsk

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

func constantTimeEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// serverHandshake runs the server side of RFC 5246 §7.3 with RFC 4279 PSK key
// exchange. inMu and outMu are held.
func (c *Conn) serverHandshake(ctx context.Context) error {
	st := &hsState{}
	msg, body, err := c.expectMsg(typeClientHello)
	if err != nil {
		return err
	}
	ch, err := parseClientHello(body)
	if errors.Is(err, errBadMaxFragment) {
		return c.fatal(AlertIllegalParameter, err)
	}
	if err != nil {
		return c.fatal(AlertDecodeError, fmt.Errorf("ClientHello: %w", err))
	}
	if len(c.hsBuf) != 0 {
		return c.fatal(AlertUnexpectedMessage, errors.New("data after ClientHello"))
	}
	if ch.vers < VersionTLS12 {
		return c.fatal(AlertProtocolVersion, fmt.Errorf("client offers version %#04x, need TLS 1.2", ch.vers))
	}
	if !slices.Contains(ch.compression, compressionNull) {
		return c.fatal(AlertHandshakeFailure, errors.New("client does not offer null compression"))
	}
	if ch.hasRenegExt && len(ch.renegInfo) != 0 {
		return c.fatal(AlertHandshakeFailure, errors.New("non-empty renegotiation_info in initial handshake"))
	}
	prefs := c.srv.CipherSuites
	if len(prefs) == 0 {
		prefs = defaultSuites
	}
	for _, id := range prefs {
		if slices.Contains(ch.suites, id) {
			st.suite = suiteByID(id)
			break
		}
	}
	if st.suite == nil {
		return c.fatal(AlertHandshakeFailure, ErrNoCommonSuite)
	}
	c.vers = VersionTLS12
	st.clientRandom = ch.random
	st.serverRandom = randomBytes(32)
	st.ems = ch.ems
	st.transcript = append(st.transcript, msg...)

	sh := &serverHello{
		vers:        VersionTLS12,
		random:      st.serverRandom,
		suite:       st.suite.id,
		compression: compressionNull,
		ems:         st.ems,
		hasRenegExt: ch.hasRenegExt || slices.Contains(ch.suites, scsvRenegotiation),
		maxFragCode: ch.maxFragCode,
	}
	c.maxFragment = c.srv.MaxRecordSize
	if ch.maxFragCode != 0 {
		mfl := 1 << (8 + ch.maxFragCode) // 512, 1024, 2048, 4096
		if c.maxFragment == 0 || mfl < c.maxFragment {
			c.maxFragment = mfl
		}
	}
	flight := marshalServerHello(sh)
	if c.srv.IdentityHint != "" {
		flight = append(flight, handshakeMsg(typeServerKeyExchange, appendVec16(nil, []byte(c.srv.IdentityHint)))...)
	}
	flight = append(flight, handshakeMsg(typeServerHelloDone, nil)...)
	st.transcript = append(st.transcript, flight...)
	if err := c.writeRecordLocked(recordTypeHandshake, flight); err != nil {
		return err
	}

	msg, body, err = c.expectMsg(typeClientKeyExchange)
	if err != nil {
		return err
	}
	if len(body) < 2 || int(binary.BigEndian.Uint16(body)) != len(body)-2 {
		return c.fatal(AlertDecodeError, errors.New("malformed ClientKeyExchange"))
	}
	identity := string(body[2:])
	st.transcript = append(st.transcript, msg...)

	psk, err := c.srv.GetKey(ctx, identity)
	switch {
	case errors.Is(err, ErrUnknownIdentity) && c.srv.HideUnknownIdentity:
		psk = randomBytes(32) // fail at Finished like a wrong key would
	case errors.Is(err, ErrUnknownIdentity):
		return c.fatal(AlertUnknownPSKIdentity, fmt.Errorf("identity %q: %w", identity, err))
	case err != nil:
		return c.fatal(AlertInternalError, fmt.Errorf("key lookup for %q: %w", identity, err))
	case len(psk) == 0:
		return c.fatal(AlertInternalError, fmt.Errorf("empty key for identity %q", identity))
	}

	clientProt, serverProt, err := st.establishKeys(psk)
	if err != nil {
		return c.fatal(AlertInternalError, err)
	}
	if err := c.readChangeCipherSpec(clientProt); err != nil {
		return err
	}
	if err := c.readFinished(st, "client finished"); err != nil {
		return err
	}
	if err := c.writeCCSAndFinished(st, serverProt, "server finished"); err != nil {
		return err
	}
	c.state = ConnectionState{
		HandshakeComplete:    true,
		Identity:             identity,
		IdentityHint:         c.srv.IdentityHint,
		ServerName:           ch.serverName,
		CipherSuite:          st.suite.id,
		ExtendedMasterSecret: st.ems,
	}
	return nil
}
