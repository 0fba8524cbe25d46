package tlspsk

import (
	"encoding/binary"
	"errors"
)

// Handshake message types (RFC 5246 §7.4).
const (
	typeHelloRequest       byte = 0
	typeClientHello        byte = 1
	typeServerHello        byte = 2
	typeCertificate        byte = 11
	typeServerKeyExchange  byte = 12
	typeCertificateRequest byte = 13
	typeServerHelloDone    byte = 14
	typeClientKeyExchange  byte = 16
	typeFinished           byte = 20
)

// Extensions and signalling values.
const (
	extServerName           uint16 = 0      // RFC 6066
	extMaxFragmentLength    uint16 = 1      // RFC 6066
	extExtendedMasterSecret uint16 = 23     // RFC 7627
	extRenegotiationInfo    uint16 = 0xff01 // RFC 5746
	scsvRenegotiation       uint16 = 0x00ff // RFC 5746
	compressionNull         byte   = 0
	maxHandshakeLen                = 1 << 16 // larger than any message of a PSK handshake
)

var errDecode = errors.New("malformed handshake message")

// reader is a tiny bounds-checked parser for TLS vectors.
type reader struct {
	b  []byte
	ok bool
}

func newReader(b []byte) *reader { return &reader{b: b, ok: true} }

func (r *reader) bytes(n int) []byte {
	if !r.ok || n < 0 || len(r.b) < n {
		r.ok = false
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() int {
	v := r.bytes(1)
	if v == nil {
		return 0
	}
	return int(v[0])
}

func (r *reader) u16() int {
	v := r.bytes(2)
	if v == nil {
		return 0
	}
	return int(binary.BigEndian.Uint16(v))
}

func (r *reader) vec8() []byte  { return r.bytes(r.u8()) }
func (r *reader) vec16() []byte { return r.bytes(r.u16()) }
func (r *reader) empty() bool   { return r.ok && len(r.b) == 0 }

// clientHello is the part of a ClientHello this package uses.
type clientHello struct {
	vers        uint16
	random      []byte
	sessionID   []byte
	suites      []uint16
	compression []byte
	serverName  string
	ems         bool
	hasRenegExt bool
	renegInfo   []byte
	maxFragCode byte // RFC 6066 code 1..4, 0 when absent
}

// parseClientHello parses a ClientHello body (without the 4-byte handshake header).
func parseClientHello(body []byte) (*clientHello, error) {
	r := newReader(body)
	ch := &clientHello{}
	ch.vers = uint16(r.u16())
	ch.random = r.bytes(32)
	ch.sessionID = r.vec8()
	suites := r.vec16()
	ch.compression = r.vec8()
	if !r.ok || len(suites)%2 != 0 || len(suites) == 0 || len(ch.sessionID) > 32 || len(ch.compression) == 0 {
		return nil, errDecode
	}
	for i := 0; i < len(suites); i += 2 {
		ch.suites = append(ch.suites, binary.BigEndian.Uint16(suites[i:]))
	}
	if r.empty() {
		return ch, nil // no extensions
	}
	err := forEachExtension(r, func(typ uint16, data []byte) error {
		switch typ {
		case extServerName:
			name, err := parseSNI(data)
			if err != nil {
				return err
			}
			ch.serverName = name
		case extMaxFragmentLength:
			if len(data) != 1 || data[0] < 1 || data[0] > 4 {
				return errBadMaxFragment
			}
			ch.maxFragCode = data[0]
		case extExtendedMasterSecret:
			if len(data) != 0 {
				return errDecode
			}
			ch.ems = true
		case extRenegotiationInfo:
			d := newReader(data)
			ch.renegInfo = d.vec8()
			if !d.empty() {
				return errDecode
			}
			ch.hasRenegExt = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ch, nil
}

func parseSNI(data []byte) (string, error) {
	d := newReader(data)
	list := newReader(d.vec16())
	if !d.empty() || len(list.b) == 0 {
		return "", errDecode
	}
	name := ""
	for list.ok && len(list.b) > 0 {
		typ := list.u8()
		host := list.vec16()
		if !list.ok || len(host) == 0 {
			return "", errDecode
		}
		if typ == 0 && name == "" {
			name = string(host)
		}
	}
	if !list.ok {
		return "", errDecode
	}
	return name, nil
}

// handshakeMsg prepends the 4-byte handshake header.
func handshakeMsg(typ byte, body []byte) []byte {
	out := make([]byte, 4, 4+len(body))
	out[0] = typ
	out[1], out[2], out[3] = byte(len(body)>>16), byte(len(body)>>8), byte(len(body))
	return append(out, body...)
}

func appendVec16(dst, v []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(v)))
	return append(dst, v...)
}

func appendExt(dst []byte, typ uint16, data []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, typ)
	return appendVec16(dst, data)
}

// marshalClientHello builds the client's hello message.
func marshalClientHello(random []byte, suites []uint16, serverName string) []byte {
	b := binary.BigEndian.AppendUint16(nil, VersionTLS12)
	b = append(b, random...)
	b = append(b, 0) // empty session id
	var cs []byte
	for _, s := range suites {
		cs = binary.BigEndian.AppendUint16(cs, s)
	}
	cs = binary.BigEndian.AppendUint16(cs, scsvRenegotiation)
	b = appendVec16(b, cs)
	b = append(b, 1, compressionNull)
	var exts []byte
	if serverName != "" {
		entry := append([]byte{0}, appendVec16(nil, []byte(serverName))...)
		exts = appendExt(exts, extServerName, appendVec16(nil, entry))
	}
	exts = appendExt(exts, extExtendedMasterSecret, nil)
	b = appendVec16(b, exts)
	return handshakeMsg(typeClientHello, b)
}

// serverHello is the part of a ServerHello this package uses.
type serverHello struct {
	vers        uint16
	random      []byte
	suite       uint16
	compression byte
	ems         bool
	hasRenegExt bool
	renegInfo   []byte
	maxFragCode byte
}

func marshalServerHello(sh *serverHello) []byte {
	b := binary.BigEndian.AppendUint16(nil, sh.vers)
	b = append(b, sh.random...)
	b = append(b, 0) // no session id: resumption is not supported
	b = binary.BigEndian.AppendUint16(b, sh.suite)
	b = append(b, sh.compression)
	var exts []byte
	if sh.hasRenegExt {
		exts = appendExt(exts, extRenegotiationInfo, []byte{0})
	}
	if sh.ems {
		exts = appendExt(exts, extExtendedMasterSecret, nil)
	}
	if sh.maxFragCode != 0 {
		exts = appendExt(exts, extMaxFragmentLength, []byte{sh.maxFragCode})
	}
	if len(exts) > 0 {
		b = appendVec16(b, exts)
	}
	return handshakeMsg(typeServerHello, b)
}

func parseServerHello(body []byte) (*serverHello, error) {
	r := newReader(body)
	sh := &serverHello{vers: uint16(r.u16()), random: r.bytes(32)}
	sid := r.vec8()
	sh.suite = uint16(r.u16())
	sh.compression = byte(r.u8())
	if !r.ok || len(sid) > 32 {
		return nil, errDecode
	}
	if r.empty() {
		return sh, nil
	}
	err := forEachExtension(r, func(typ uint16, data []byte) error {
		switch typ {
		case extServerName:
			if len(data) != 0 { // the server acknowledges SNI with an empty extension
				return errDecode
			}
		case extExtendedMasterSecret:
			if len(data) != 0 {
				return errDecode
			}
			sh.ems = true
		case extRenegotiationInfo:
			d := newReader(data)
			sh.renegInfo = d.vec8()
			if !d.empty() {
				return errDecode
			}
			sh.hasRenegExt = true
		default:
			// RFC 5246 §7.4.1.4: a client must abort on an extension it did not offer.
			return errUnsolicitedExt
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sh, nil
}

// forEachExtension reads the extensions block that ends a hello message
// from r (which must hold nothing after it) and calls fn for each
// extension; a malformed block or a repeated extension type is errDecode.
func forEachExtension(r *reader, fn func(typ uint16, data []byte) error) error {
	exts := newReader(r.vec16())
	if !r.empty() {
		return errDecode
	}
	seen := make(map[uint16]bool)
	for exts.ok && len(exts.b) > 0 {
		typ := uint16(exts.u16())
		data := exts.vec16()
		if !exts.ok || seen[typ] {
			return errDecode
		}
		seen[typ] = true
		if err := fn(typ, data); err != nil {
			return err
		}
	}
	if !exts.ok {
		return errDecode
	}
	return nil
}

var (
	errUnsolicitedExt = errors.New("server sent an extension the client did not offer")
	errBadMaxFragment = errors.New("invalid max_fragment_length")
)
