package sqlstore

import (
	"encoding/json"
	"strings"
)

// param is a member of a report's params object: a property id and its
// value as JSON text.
type param struct{ id, value string }

// reportParams appends the members of params, a report's values as one JSON
// object, to dst in their order. The compaction and the reads take every
// staged report apart, so the form appendReportParams writes ({"id":value,
// ...} without spaces or escapes in the ids) is split without a decoder;
// any other form (such as rows the 0009 migration converted) goes through
// encoding/json. Values are returned as stored, byte for byte.
func reportParams(dst []param, params string) ([]param, error) {
	if out, ok := splitParams(dst, params); ok {
		return out, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(params), &obj); err != nil {
		return dst, err
	}
	for id, v := range obj {
		dst = append(dst, param{id, string(v)})
	}
	return dst, nil
}

// paramValue returns the value of id in params, or false.
func paramValue(params, id string) (string, bool, error) {
	var buf [8]param
	members, err := reportParams(buf[:0], params)
	if err != nil {
		return "", false, err
	}
	// The last member of an id counts, as when decoding into a map.
	for i := len(members) - 1; i >= 0; i-- {
		if members[i].id == id {
			return members[i].value, true, nil
		}
	}
	return "", false, nil
}

// splitParams appends the members of params to dst if params has the form
// appendReportParams writes, and reports whether it had. Values are not
// validated, only delimited: strings, objects and arrays up to their end
// (brackets counted outside strings), numbers and literals as far as their
// characters go.
func splitParams(dst []param, params string) ([]param, bool) {
	n := len(dst)
	fail := func() ([]param, bool) { return dst[:n], false }
	s := params
	if len(s) < 2 || s[0] != '{' {
		return fail()
	}
	if s == "{}" {
		return dst, true
	}
	i := 1
	for {
		// "id":
		if i >= len(s) || s[i] != '"' {
			return fail()
		}
		end := strings.IndexAny(s[i+1:], `"\`)
		if end < 0 || s[i+1+end] != '"' {
			return fail() // unterminated, or an escape: leave it to encoding/json
		}
		id := s[i+1 : i+1+end]
		i += end + 2
		if i >= len(s) || s[i] != ':' {
			return fail()
		}
		i++
		v, ok := valueEnd(s, i)
		if !ok {
			return fail()
		}
		dst = append(dst, param{id, s[i:v]})
		i = v
		switch {
		case i < len(s) && s[i] == ',':
			i++
		case i == len(s)-1 && s[i] == '}':
			return dst, true
		default:
			return fail()
		}
	}
}

// valueEnd returns the end of the JSON value starting at s[i].
func valueEnd(s string, i int) (int, bool) {
	if i >= len(s) {
		return 0, false
	}
	switch s[i] {
	case '"':
		return stringEnd(s, i)
	case '{', '[':
		depth := 0
		for i < len(s) {
			switch s[i] {
			case '"':
				end, ok := stringEnd(s, i)
				if !ok {
					return 0, false
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return 0, false
	default: // a number, true, false or null
		start := i
		for i < len(s) && literalByte(s[i]) {
			i++
		}
		return i, i > start
	}
}

// literalByte reports whether c may appear in a JSON number or literal.
func literalByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '+' || c == '.'
}

// stringEnd returns the end of the JSON string starting at s[i] (a quote).
func stringEnd(s string, i int) (int, bool) {
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return 0, false
}
