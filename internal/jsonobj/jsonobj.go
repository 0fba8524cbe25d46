// Package jsonobj walks the members of a JSON object without a decoder: the
// report path takes every property report apart (when it arrives, and again
// when the staged report is compacted), and encoding/json's Decoder builds
// an error value at the end of every member.
package jsonobj

// Text is JSON text held as a string or as bytes.
type Text interface{ ~string | ~[]byte }

// Walk calls member with the key (as written, quotes included) and the
// value text of each member of the JSON object s, in order, and reports
// whether s was an object it could walk to its end. It delimits values
// without validating them: strings up to their closing quote, objects and
// arrays up to their matching bracket (counted outside strings), numbers and
// literals as far as their characters go. Callers check json.Valid first,
// or fall back to encoding/json when Walk fails. White space between tokens
// is skipped. member is not called after Walk found s malformed, but may
// have been called for the members before.
func Walk[T Text](s T, member func(key, value T)) bool {
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return false
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return skipSpace(s, i+1) == len(s)
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return false
		}
		kend, ok := stringEnd(s, i)
		if !ok {
			return false
		}
		key := s[i:kend]
		i = skipSpace(s, kend)
		if i >= len(s) || s[i] != ':' {
			return false
		}
		i = skipSpace(s, i+1)
		vend, ok := valueEnd(s, i)
		if !ok {
			return false
		}
		member(key, s[i:vend])
		i = skipSpace(s, vend)
		switch {
		case i < len(s) && s[i] == ',':
			i = skipSpace(s, i+1)
		case i < len(s) && s[i] == '}':
			return skipSpace(s, i+1) == len(s)
		default:
			return false
		}
	}
}

func skipSpace[T Text](s T, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the end of the JSON string starting at s[i] (a quote).
func stringEnd[T Text](s T, i int) (int, bool) {
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

// valueEnd returns the end of the JSON value starting at s[i].
func valueEnd[T Text](s T, i int) (int, bool) {
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
