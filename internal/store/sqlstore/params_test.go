package sqlstore

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/thingo-iot/thingo/internal/devicedata"
)

func TestReportParams(t *testing.T) {
	tests := []struct {
		name   string
		params string
		want   []param // nil: an error
		fast   bool    // split without encoding/json
	}{
		{"empty", `{}`, []param{}, true},
		{"written", `{"b":1,"a":"x"}`, []param{{"b", "1"}, {"a", `"x"`}}, true},
		{"every kind", `{"n":-1.5e+3,"t":true,"z":null,"s":"a\"}b","o":{"k":[1,{"x":"]"}]},"l":[]}`,
			[]param{{"n", "-1.5e+3"}, {"t", "true"}, {"z", "null"}, {"s", `"a\"}b"`}, {"o", `{"k":[1,{"x":"]"}]}`}, {"l", "[]"}}, true},
		{"spaces inside a value", `{"a":{"k": [1, 2]}}`, []param{{"a", `{"k": [1, 2]}`}}, true},
		{"escaped key", `{"q\"k":null}`, []param{{`q"k`, "null"}}, false},
		{"spaces between members", `{"a": 1, "b":2 }`, []param{{"a", "1"}, {"b", "2"}}, true},
		{"not an object", `[1]`, nil, false},
		{"truncated", `{"a":1`, nil, false},
		{"trailing comma", `{"a":1,}`, nil, false},
		{"bad value", `{"a":1]}`, nil, false},
		{"unterminated string", `{"a":"x}`, nil, false},
		{"garbage after", `{"a":1}x`, nil, false},
	}
	sorted := func(ps []param) []param {
		ps = slices.Clone(ps)
		slices.SortFunc(ps, func(a, b param) int {
			if a.id < b.id {
				return -1
			}
			if a.id > b.id {
				return 1
			}
			return 0
		})
		return ps
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := reportParams(nil, tc.params)
			if tc.want == nil {
				if err == nil {
					t.Errorf("reportParams(%s) = %v, want an error", tc.params, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("reportParams(%s): %v", tc.params, err)
			}
			if tc.fast {
				if !slices.Equal(got, tc.want) {
					t.Errorf("reportParams(%s) = %q, want %q", tc.params, got, tc.want)
				}
			} else if !slices.Equal(sorted(got), sorted(tc.want)) { // from a map: any order
				t.Errorf("reportParams(%s) = %q, want %q in any order", tc.params, got, tc.want)
			}
			if _, ok := splitParams(nil, tc.params); ok != tc.fast {
				t.Errorf("splitParams(%s) ok = %v, want %v", tc.params, ok, tc.fast)
			}
		})
	}
}

func TestParamValue(t *testing.T) {
	const params = `{"a":1,"b":{"a":2},"a":3}`
	for _, tc := range []struct {
		id, want string
		ok       bool
	}{{"a", "3", true}, {"b", `{"a":2}`, true}, {"c", "", false}} {
		v, ok, err := paramValue(params, tc.id)
		if err != nil || v != tc.want || ok != tc.ok {
			t.Errorf("paramValue(%s) = %q, %v, %v; want %q, %v", tc.id, v, ok, err, tc.want, tc.ok)
		}
	}
	if _, _, err := paramValue(`{"a":`, "a"); err == nil {
		t.Error("paramValue of a broken object: no error")
	}
}

// FuzzSplitParams checks reportParams against encoding/json: on any
// object that decodes, it yields the same members (the last of a repeated
// id), and what appendReportParams writes from decoded values comes back
// as written.
func FuzzSplitParams(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":"x"}`, `{"a":{"k": [1, "]"]},"a":null}`, `{"q\"k":true}`,
		`{"a" :1}`, `{"a":"\\"}`, `{"a":[{}],"b":-0.5E2}`, `{"a":1]}`, `{"a":01}`, `{"a":1}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var obj map[string]json.RawMessage
		if json.Unmarshal([]byte(s), &obj) != nil || !utf8.ValidString(s) {
			// The split does not validate values, which were JSON when
			// written, and keeps ids that are not UTF-8 as they are.
			return
		}
		members, err := reportParams(nil, s)
		if err != nil {
			t.Fatalf("reportParams(%q): %v; encoding/json decodes it", s, err)
		}
		got := map[string]string{}
		for _, m := range members {
			got[m.id] = m.value
		}
		want := map[string]string{}
		for k, v := range obj {
			want[k] = string(v)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("reportParams(%q) = %q, encoding/json %q", s, got, want)
		}
		// Written back by appendReportParams (ids in order), it splits fast.
		var values []devicedata.PropertyValue
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			var c json.RawMessage
			if err := json.Unmarshal(obj[k], &c); err == nil {
				values = append(values, devicedata.PropertyValue{ID: k, Value: c})
			}
		}
		written := string(appendReportParams(nil, values))
		again, err := reportParams(nil, written)
		if err != nil {
			t.Fatalf("reportParams(%q) of appendReportParams: %v", written, err)
		}
		if len(again) != len(values) {
			t.Fatalf("reportParams(%q) = %q, want %d members", written, again, len(values))
		}
		for i, m := range again {
			if m.id != values[i].ID || m.value != string(values[i].Value) {
				t.Fatalf("reportParams(%q)[%d] = %q, want %s=%s", written, i, m, values[i].ID, values[i].Value)
			}
		}
	})
}
