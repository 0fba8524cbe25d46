package sqlstore

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/thingo-iot/thingo/internal/devicedata"
)

func TestAppendReportParams(t *testing.T) {
	v := func(id, value string) devicedata.PropertyValue {
		return devicedata.PropertyValue{ID: id, Value: json.RawMessage(value)}
	}
	long := make([]devicedata.PropertyValue, 0, 20)
	for i := range 20 {
		long = append(long, v(string(rune('a'+i%10)), string(rune('0'+i/10))))
	}
	tests := []struct {
		name   string
		values []devicedata.PropertyValue
		want   string
	}{
		{"empty", nil, `{}`},
		{"in order", []devicedata.PropertyValue{v("b", "1"), v("a", `"x"`)}, `{"b":1,"a":"x"}`},
		{"escaped key", []devicedata.PropertyValue{v(`q"\`+"\n", "null")}, `{"q\"\\\u000a":null}`},
		{"empty value", []devicedata.PropertyValue{v("a", "")}, `{"a":null}`},
		{"duplicate keeps last", []devicedata.PropertyValue{v("a", "1"), v("b", "2"), v("a", "3")}, `{"b":2,"a":3}`},
		{"long duplicates", long, `{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"j":1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(appendReportParams(nil, tc.values)); got != tc.want {
				t.Errorf("appendReportParams = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestLikeKeyPattern(t *testing.T) {
	tests := []struct{ id, want string }{
		{"power_switch", `%"power\_switch":%`},
		{"a%b", `%"a\%b":%`},
		{`a\b`, `%"a\\b":%`},
		{"ü", `%"ü":%`},
	}
	for _, tc := range tests {
		if got := likeKeyPattern(tc.id); got != tc.want {
			t.Errorf("likeKeyPattern(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

// FuzzReportParams checks that a params object holds every reported value
// byte for byte under its id, and that a plain id appears as `"id":`.
func FuzzReportParams(f *testing.F) {
	f.Add("a", `1`, "b", `{"a":[1,2]}`)
	f.Add(`q"k`, `"x \"y\""`, "power_switch", `null`)
	f.Add("\x00\u2028", `-1.5e3`, "a", `"\u00e9"`)
	f.Fuzz(func(t *testing.T, id1, v1, id2, v2 string) {
		// Values are compacted JSON: no space around them (inside strings
		// is fine).
		if !json.Valid([]byte(v1)) || !json.Valid([]byte(v2)) || id1 == id2 ||
			strings.TrimSpace(v1) != v1 || strings.TrimSpace(v2) != v2 {
			t.Skip()
		}
		doc := appendReportParams(nil, []devicedata.PropertyValue{
			{ID: id1, Value: json.RawMessage(v1)}, {ID: id2, Value: json.RawMessage(v2)},
		})
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(doc, &obj); err != nil {
			t.Fatalf("params %s: %v", doc, err)
		}
		for _, kv := range [][2]string{{id1, v1}, {id2, v2}} {
			id, v := kv[0], kv[1]
			if _, ok := obj[id]; !ok && !strings.ContainsRune(id, '\uFFFD') && validUTF8(id) {
				t.Fatalf("params %s: no key %q", doc, id)
			}
			if got, ok := obj[id]; ok && string(got) != v {
				t.Errorf("params %s: %q = %s, want %s", doc, id, got, v)
			}
			if plainKey(id) && !strings.Contains(string(doc), `"`+id+`":`) {
				t.Errorf("params %s do not contain the plain key %q", doc, id)
			}
		}
	})
}

func validUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
