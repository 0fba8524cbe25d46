package sqlstore

import (
	"encoding/json"
	"strings"

	"github.com/thingo-iot/thingo/internal/jsonobj"
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

// splitParams appends the members of params to dst if jsonobj.Walk can
// take it apart and no id has an escape (ids are returned as written), and
// reports whether it could. Values are not validated, only delimited.
func splitParams(dst []param, params string) ([]param, bool) {
	n := len(dst)
	escaped := false
	ok := jsonobj.Walk(params, func(key, value string) {
		escaped = escaped || strings.IndexByte(key, '\\') >= 0
		dst = append(dst, param{key[1 : len(key)-1], value})
	})
	if !ok || escaped {
		return dst[:n], false
	}
	return dst, true
}
