package tlspsk

import (
	"crypto/rand"
	"errors"
	"fmt"
)

// hsState is the state shared by both handshake sides.
type hsState struct {
	suite        *suite
	clientRandom []byte
	serverRandom []byte
	transcript   []byte
	master       []byte
	ems          bool
}

// readHandshakeMsg returns the next complete handshake message, header
// included, reassembling fragments and splitting coalesced messages.
// inMu must be held.
func (c *Conn) readHandshakeMsg() ([]byte, error) {
	for useless := 0; ; {
		if len(c.hsBuf) >= 4 {
			n := int(c.hsBuf[1])<<16 | int(c.hsBuf[2])<<8 | int(c.hsBuf[3])
			if n > maxHandshakeLen {
				return nil, c.fatal(AlertDecodeError, fmt.Errorf("handshake message of %d bytes", n))
			}
			if len(c.hsBuf) >= 4+n {
				msg := c.hsBuf[: 4+n : 4+n]
				c.hsBuf = c.hsBuf[4+n:]
				return msg, nil
			}
		}
		typ, data, err := c.readRecord()
		if err != nil {
			return nil, err
		}
		switch {
		case typ == recordTypeHandshake && len(data) > 0:
			c.hsBuf = append(c.hsBuf, data...)
		case typ == recordTypeAlert: // an ignored warning
			if useless++; useless > maxUselessRecords {
				return nil, c.fatal(AlertUnexpectedMessage, errors.New("too many warnings"))
			}
		default:
			return nil, c.fatal(AlertUnexpectedMessage, fmt.Errorf("record type %d during handshake", typ))
		}
	}
}

// expectMsg reads a handshake message of the given type and returns its body.
func (c *Conn) expectMsg(typ byte) (msg, body []byte, err error) {
	msg, err = c.readHandshakeMsg()
	if err != nil {
		return nil, nil, err
	}
	if msg[0] != typ {
		return nil, nil, c.fatal(AlertUnexpectedMessage, fmt.Errorf("handshake message %d, want %d", msg[0], typ))
	}
	return msg, msg[4:], nil
}

// readChangeCipherSpec reads the peer's ChangeCipherSpec and installs p.
func (c *Conn) readChangeCipherSpec(p *protection) error {
	if len(c.hsBuf) != 0 {
		return c.fatal(AlertUnexpectedMessage, errors.New("ChangeCipherSpec inside a handshake message"))
	}
	for useless := 0; ; {
		typ, data, err := c.readRecord()
		if err != nil {
			return err
		}
		switch {
		case typ == recordTypeChangeCipherSpec && len(data) == 1 && data[0] == 1:
			c.in = p
			return nil
		case typ == recordTypeAlert:
			if useless++; useless > maxUselessRecords {
				return c.fatal(AlertUnexpectedMessage, errors.New("too many warnings"))
			}
		default:
			return c.fatal(AlertUnexpectedMessage, errors.New("expected ChangeCipherSpec"))
		}
	}
}

// readFinished reads and verifies the peer's Finished message.
func (c *Conn) readFinished(st *hsState, label string) error {
	expected := finishedHash(st.suite, st.master, label, st.transcript)
	msg, body, err := c.expectMsg(typeFinished)
	if err != nil {
		return err
	}
	if len(body) != len(expected) {
		return c.fatal(AlertDecodeError, errors.New("malformed Finished"))
	}
	if !constantTimeEqual(body, expected) {
		return c.fatal(AlertDecryptError, errors.New("Finished verify_data mismatch"))
	}
	if len(c.hsBuf) != 0 {
		return c.fatal(AlertUnexpectedMessage, errors.New("data after Finished"))
	}
	st.transcript = append(st.transcript, msg...)
	return nil
}

// writeCCSAndFinished sends ChangeCipherSpec, installs p and sends Finished.
func (c *Conn) writeCCSAndFinished(st *hsState, p *protection, label string) error {
	if err := c.writeRecordLocked(recordTypeChangeCipherSpec, []byte{1}); err != nil {
		return err
	}
	c.out = p
	fin := handshakeMsg(typeFinished, finishedHash(st.suite, st.master, label, st.transcript))
	st.transcript = append(st.transcript, fin...)
	return c.writeRecordLocked(recordTypeHandshake, fin)
}

// establishKeys derives the master secret and both directions' protections.
func (st *hsState) establishKeys(psk []byte) (client, server *protection, err error) {
	sessionHash := transcriptHash(st.suite, st.transcript)
	st.master = masterSecret(st.suite, pskPremaster(psk), st.clientRandom, st.serverRandom, sessionHash, st.ems)
	kb := deriveKeys(st.suite, st.master, st.clientRandom, st.serverRandom)
	if client, err = newProtection(st.suite, kb.clientKey, kb.clientMAC, kb.clientIV); err != nil {
		return nil, nil, err
	}
	if server, err = newProtection(st.suite, kb.serverKey, kb.serverMAC, kb.serverIV); err != nil {
		return nil, nil, err
	}
	return client, server, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return b
}
