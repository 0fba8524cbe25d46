package devicedata

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/thingo-iot/thingo/internal/jsonobj"
)

// NewReport builds a Report from a params object that was validated: one
// value per member, in the order of params, compacted. Empty params and
// null make a report without values; anything but a JSON object is
// ErrNotObject.
//
// It is on the path of every property report, so it checks params with
// json.Valid (no allocation) and then walks the members with jsonobj.Walk
// instead of a json.Decoder.
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
	if !jsonobj.Walk(p, func(key, value []byte) {
		r.Values = append(r.Values, PropertyValue{ID: memberKey(key), Value: compactValue(value)})
	}) {
		return Report{}, ErrNotObject // not reached: p is a valid object
	}
	return r, nil
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
