package commlog

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// fields are the members of a device message the log reads: the string
// members method, clientToken and status, and the integer member code.
// Offsets are byte ranges of the raw string contents (between the quotes)
// in the scanned payload; a range whose content has escapes is decoded
// separately.
type fields struct {
	method, token, status span
	code                  int
	hasCode, hasStatus    bool
}

// span is a string member's raw content, p[start:end].
type span struct {
	start, end int
	escaped    bool
	ok         bool
}

// scanFields reads the top-level members of the JSON object p without
// building it. It returns ok=false for anything that is not a well-formed
// object up to the members it needs; nested values are skipped. It never
// allocates. clientToken may also be a number (some SDKs send one).
func scanFields(p string) (f fields, ok bool) {
	i := skipSpace(p, 0)
	if i >= len(p) || p[i] != '{' {
		return f, false
	}
	i = skipSpace(p, i+1)
	if i < len(p) && p[i] == '}' {
		return f, true
	}
	for i < len(p) {
		key, next, good := scanString(p, i)
		if !good {
			return f, false
		}
		i = skipSpace(p, next)
		if i >= len(p) || p[i] != ':' {
			return f, false
		}
		i = skipSpace(p, i+1)
		if i >= len(p) {
			return f, false
		}
		name := p[key.start:key.end]
		switch {
		case !key.escaped && name == "method" && p[i] == '"':
			f.method, i, good = scanString(p, i)
		case !key.escaped && name == "clientToken" && p[i] == '"':
			f.token, i, good = scanString(p, i)
		case !key.escaped && name == "clientToken" && isNumberStart(p[i]):
			start := i
			i, good = skipValue(p, i, 0)
			f.token = span{start: start, end: i, ok: true}
		case !key.escaped && name == "status" && p[i] == '"':
			f.status, i, good = scanString(p, i)
			f.hasStatus = good
		case !key.escaped && name == "code" && isNumberStart(p[i]):
			start := i
			i, good = skipValue(p, i, 0)
			if good {
				if n, err := strconv.Atoi(p[start:i]); err == nil {
					f.code, f.hasCode = n, true
				}
			}
		default:
			i, good = skipValue(p, i, 0)
		}
		if !good {
			return f, false
		}
		i = skipSpace(p, i)
		if i >= len(p) {
			return f, false
		}
		switch p[i] {
		case ',':
			i = skipSpace(p, i+1)
		case '}':
			return f, true
		default:
			return f, false
		}
	}
	return f, false
}

func isNumberStart(c byte) bool { return c == '-' || (c >= '0' && c <= '9') }

func skipSpace(p string, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
		i++
	}
	return i
}

// scanString reads the JSON string starting at p[i] == '"'. It returns the
// content's span and the index after the closing quote.
func scanString(p string, i int) (span, int, bool) {
	if i >= len(p) || p[i] != '"' {
		return span{}, i, false
	}
	s := span{start: i + 1}
	for j := i + 1; j < len(p); j++ {
		switch p[j] {
		case '\\':
			s.escaped = true
			j++
		case '"':
			s.end, s.ok = j, true
			return s, j + 1, true
		}
	}
	return span{}, len(p), false
}

// maxDepth bounds the nesting skipValue follows.
const maxDepth = 64

// skipValue skips the JSON value starting at p[i] and returns the index
// after it. It checks the structure loosely: brackets must balance and
// strings must close.
func skipValue(p string, i, depth int) (int, bool) {
	if i >= len(p) || depth > maxDepth {
		return i, false
	}
	switch c := p[i]; c {
	case '"':
		_, next, ok := scanString(p, i)
		return next, ok
	case '{', '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipSpace(p, i+1)
		if i < len(p) && p[i] == closer {
			return i + 1, true
		}
		for i < len(p) {
			if c == '{' {
				_, next, ok := scanString(p, i)
				if !ok {
					return next, false
				}
				i = skipSpace(p, next)
				if i >= len(p) || p[i] != ':' {
					return i, false
				}
				i = skipSpace(p, i+1)
			}
			next, ok := skipValue(p, i, depth+1)
			if !ok {
				return next, false
			}
			i = skipSpace(p, next)
			if i >= len(p) {
				return i, false
			}
			switch p[i] {
			case ',':
				i = skipSpace(p, i+1)
			case closer:
				return i + 1, true
			default:
				return i, false
			}
		}
		return i, false
	default:
		// A number or a literal: up to the next delimiter.
		j := i
		for j < len(p) {
			switch p[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j, j > i
			}
			j++
		}
		return j, j > i
	}
}

// text returns the content of s as a Go string. stored is the prefix of p
// the entry keeps: a span within it without escapes is a substring of it
// (no allocation); otherwise the text is copied (so that p is not kept) or
// decoded.
func (s span) text(p, stored string) string {
	if !s.ok {
		return ""
	}
	if s.escaped {
		if v, err := strconv.Unquote(`"` + p[s.start:s.end] + `"`); err == nil && utf8.ValidString(v) {
			return v
		}
	}
	if s.end <= len(stored) {
		return stored[s.start:s.end]
	}
	return strings.Clone(p[s.start:s.end])
}
