package thingmodel

import (
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner is a minimal single-pass JSON reader over a byte slice. It checks RFC 8259 syntax strictly
// and does not allocate on the success path; values are validated as they are read.
type scanner struct {
	data []byte
	pos  int
}

func malformed(format string, args ...any) *ValueError { return valErr(ErrMalformed, format, args...) }

func (s *scanner) skipWS() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.skipWS()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

// expect consumes byte c after whitespace.
func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		return malformed("want %q at offset %d", c, s.pos)
	}
	s.pos++
	return nil
}

// end checks that only whitespace remains.
func (s *scanner) end() error {
	if s.skipWS(); s.pos < len(s.data) {
		return malformed("unexpected data at offset %d", s.pos)
	}
	return nil
}

// literal consumes true, false or null.
func (s *scanner) literal(lit string) error {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return malformed("bad literal at offset %d", s.pos)
	}
	s.pos += len(lit)
	return nil
}

// strInfo describes a scanned string.
type strInfo struct {
	raw     []byte // between the quotes, still escaped
	n       int    // length in bytes once unescaped (UTF-8)
	escaped bool   // raw contains escapes
	badUTF8 bool   // raw contains invalid UTF-8
}

// str consumes a string starting at the opening quote.
func (s *scanner) str() (strInfo, error) {
	var si strInfo
	if s.peek() != '"' {
		return si, malformed("want a string at offset %d", s.pos)
	}
	s.pos++
	start := s.pos
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' { // fast path: plain ASCII
			s.pos++
			si.n++
			continue
		}
		switch {
		case c == '"':
			si.raw = s.data[start:s.pos]
			s.pos++
			return si, nil
		case c == '\\':
			si.escaped = true
			if s.pos+1 >= len(s.data) {
				return si, malformed("unterminated string")
			}
			switch s.data[s.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				si.n++
				s.pos += 2
			case 'u':
				r, ok := s.hex4(s.pos + 2)
				if !ok {
					return si, malformed("bad \\u escape at offset %d", s.pos)
				}
				s.pos += 6
				if utf16.IsSurrogate(r) {
					if r2, ok := s.lowSurrogate(); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							s.pos += 6
							si.n += utf8.RuneLen(dec)
							continue
						}
					}
					r = utf8.RuneError
				}
				si.n += utf8.RuneLen(r)
			default:
				return si, malformed("bad escape at offset %d", s.pos)
			}
		case c < 0x20:
			return si, malformed("control character in string at offset %d", s.pos)
		case c < utf8.RuneSelf:
			si.n++
			s.pos++
		default:
			r, size := utf8.DecodeRune(s.data[s.pos:])
			if r == utf8.RuneError && size == 1 {
				si.badUTF8 = true
			}
			si.n += size
			s.pos += size
		}
	}
	return si, malformed("unterminated string")
}

// lowSurrogate reads a following \uXXXX escape without consuming it.
func (s *scanner) lowSurrogate() (rune, bool) {
	if s.pos+1 >= len(s.data) || s.data[s.pos] != '\\' || s.data[s.pos+1] != 'u' {
		return 0, false
	}
	return s.hex4(s.pos + 2)
}

func (s *scanner) hex4(at int) (rune, bool) {
	if at+4 > len(s.data) {
		return 0, false
	}
	var r rune
	for _, c := range s.data[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// unescape decodes a string that contains escapes (rare path; allocates).
func unescape(si strInfo) string {
	if !si.escaped {
		return string(si.raw)
	}
	quoted := make([]byte, 0, len(si.raw)+2)
	quoted = append(quoted, '"')
	quoted = append(quoted, si.raw...)
	quoted = append(quoted, '"')
	var out string
	if err := json.Unmarshal(quoted, &out); err != nil {
		return string(si.raw) // unreachable: str already checked the syntax
	}
	return out
}

// number consumes a JSON number; isInt reports that it has neither fraction nor exponent.
func (s *scanner) number() (raw []byte, isInt bool, err error) {
	s.skipWS()
	start := s.pos
	d := s.data
	i := s.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		return nil, false, malformed("bad number at offset %d", start)
	}
	isInt = true
	if i < len(d) && d[i] == '.' {
		isInt = false
		i++
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == j {
			return nil, false, malformed("bad number at offset %d", start)
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		isInt = false
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == j {
			return nil, false, malformed("bad number at offset %d", start)
		}
	}
	s.pos = i
	return d[start:i], isInt, nil
}

// object reads an object, calling member with each key while the scanner is at the member's value;
// member must consume the value.
func (s *scanner) object(member func(key strInfo) error) error {
	if err := s.wantKind('{', "object"); err != nil {
		return err
	}
	s.pos++
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		key, err := s.str()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return malformed("want ',' or '}' at offset %d", s.pos)
		}
	}
}
