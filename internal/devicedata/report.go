package devicedata

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// NewReport builds a Report from a params object that was validated: one
// value per member, in the order of params, compacted. Empty params and
// null make a report without values; anything but a JSON object is
// ErrNotObject.
//
// It is on the path of every property report, so it checks params with
// json.Valid (no allocation) and then walks the members itself, instead of
// a json.Decoder (which builds an error value at the end of each member).
func NewReport(productID, deviceName string, at time.Time, params []byte) (Report, error) {
	r := Report{ProductID: productID, DeviceName: deviceName, At: at}
	p := bytes.TrimSpace(params)
	if len(p) == 0 || string(p) == "null" {
		return r, nil
	}
	if p[0] != '{' || !json.Valid(p) {
		return Report{}, ErrNotObject
	}
	p = bytes.Clone(p) // the values alias this copy, not the caller's buffer
	i := skipSpace(p, 1)
	for p[i] != '}' {
		end := stringEnd(p, i)
		key := p[i:end]
		i = skipSpace(p, skipSpace(p, end)+1) // past ':'
		vend := valueEnd(p, i)
		r.Values = append(r.Values, PropertyValue{ID: memberKey(key), Value: compactValue(p[i:vend])})
		i = skipSpace(p, vend)
		if p[i] == ',' {
			i = skipSpace(p, i+1)
		}
	}
	return r, nil
}

// The walkers below assume valid JSON (NewReport checked it).

func skipSpace(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string that starts at p[i] ('"').
func stringEnd(p []byte, i int) int {
	for i++; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(p)
}

// valueEnd returns the index after the value that starts at p[i].
func valueEnd(p []byte, i int) int {
	switch p[i] {
	case '"':
		return stringEnd(p, i)
	case '{', '[':
		depth := 0
		for i < len(p) {
			switch p[i] {
			case '"':
				i = stringEnd(p, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(p)
	}
	for i < len(p) && p[i] != ',' && p[i] != '}' && p[i] != ']' &&
		p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r' {
		i++
	}
	return i
}

// memberKey is the text of a member name (a JSON string, quotes included),
// decoded like encoding/json does (escapes; invalid UTF-8 becomes U+FFFD).
func memberKey(q []byte) string {
	if bytes.IndexByte(q, '\\') < 0 && utf8.Valid(q) {
		return string(q[1 : len(q)-1])
	}
	var s string
	_ = json.Unmarshal(q, &s) // valid: checked by NewReport
	return s
}

// compactValue returns v without insignificant white space.
func compactValue(v []byte) json.RawMessage {
	if bytes.IndexAny(v, " \t\r\n") < 0 {
		return v
	}
	return compact(v)
}
