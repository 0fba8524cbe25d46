package tlspsk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// clientHandshake runs the client side of the handshake. inMu and outMu are held.
func (c *Conn) clientHandshake(_ context.Context) error {
	st := &hsState{clientRandom: randomBytes(32)}
	offered := c.cli.CipherSuites
	if len(offered) == 0 {
		offered = defaultSuites
	}
	hello := marshalClientHello(st.clientRandom, offered, c.cli.ServerName)
	st.transcript = append(st.transcript, hello...)
	if err := c.writeRecordLocked(recordTypeHandshake, hello); err != nil {
		return err
	}

	msg, body, err := c.expectMsg(typeServerHello)
	if err != nil {
		return err
	}
	sh, err := parseServerHello(body)
	switch {
	case errors.Is(err, errUnsolicitedExt):
		return c.fatal(AlertUnsupportedExt, err)
	case err != nil:
		return c.fatal(AlertDecodeError, fmt.Errorf("ServerHello: %w", err))
	case sh.vers != VersionTLS12:
		return c.fatal(AlertProtocolVersion, fmt.Errorf("server chose version %#04x", sh.vers))
	case !slices.Contains(offered, sh.suite):
		return c.fatal(AlertIllegalParameter, fmt.Errorf("server chose suite %s", CipherSuiteName(sh.suite)))
	case sh.compression != compressionNull:
		return c.fatal(AlertIllegalParameter, errors.New("server chose compression"))
	case sh.hasRenegExt && len(sh.renegInfo) != 0:
		return c.fatal(AlertHandshakeFailure, errors.New("non-empty renegotiation_info"))
	}
	c.vers = VersionTLS12
	st.suite = suiteByID(sh.suite)
	st.serverRandom = sh.random
	st.ems = sh.ems
	st.transcript = append(st.transcript, msg...)

	hint := ""
	msg, err = c.readHandshakeMsg()
	if err != nil {
		return err
	}
	if msg[0] == typeServerKeyExchange {
		b := msg[4:]
		if len(b) < 2 || int(binary.BigEndian.Uint16(b)) != len(b)-2 {
			return c.fatal(AlertDecodeError, errors.New("malformed ServerKeyExchange"))
		}
		hint = string(b[2:])
		st.transcript = append(st.transcript, msg...)
		if msg, err = c.readHandshakeMsg(); err != nil {
			return err
		}
	}
	if msg[0] != typeServerHelloDone || len(msg) != 4 {
		return c.fatal(AlertUnexpectedMessage, fmt.Errorf("handshake message %d, want ServerHelloDone", msg[0]))
	}
	if len(c.hsBuf) != 0 {
		return c.fatal(AlertUnexpectedMessage, errors.New("data after ServerHelloDone"))
	}
	st.transcript = append(st.transcript, msg...)

	cke := handshakeMsg(typeClientKeyExchange, appendVec16(nil, []byte(c.cli.Identity)))
	st.transcript = append(st.transcript, cke...)
	if err := c.writeRecordLocked(recordTypeHandshake, cke); err != nil {
		return err
	}
	clientProt, serverProt, err := st.establishKeys(c.cli.Key)
	if err != nil {
		return c.fatal(AlertInternalError, err)
	}
	if err := c.writeCCSAndFinished(st, clientProt, "client finished"); err != nil {
		return err
	}
	if err := c.readChangeCipherSpec(serverProt); err != nil {
		return err
	}
	if err := c.readFinished(st, "server finished"); err != nil {
		return err
	}
	c.state = ConnectionState{
		HandshakeComplete:    true,
		Identity:             c.cli.Identity,
		IdentityHint:         hint,
		ServerName:           c.cli.ServerName,
		CipherSuite:          st.suite.id,
		ExtendedMasterSecret: st.ems,
	}
	return nil
}
