package jsonobj

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

type member struct{ key, value string }

func walk(s string) ([]member, bool) {
	var out []member
	ok := Walk(s, func(k, v string) { out = append(out, member{k, v}) })
	return out, ok
}

func TestWalk(t *testing.T) {
	tests := []struct {
		s    string
		want []member
		ok   bool
	}{
		{`{}`, nil, true},
		{` { } `, nil, true},
		{`{"a":1}`, []member{{`"a"`, `1`}}, true},
		{`{"a":1,"b":"x,}","c":{"d":[1,{"e":"]"}]},"f":null,"g":-1.5e+3}`, []member{
			{`"a"`, `1`}, {`"b"`, `"x,}"`}, {`"c"`, `{"d":[1,{"e":"]"}]}`}, {`"f"`, `null`}, {`"g"`, `-1.5e+3`},
		}, true},
		{"{\n \"a\" : [ 1 , 2 ] ,\t\"b\\\"\":true }", []member{{`"a"`, `[ 1 , 2 ]`}, {`"b\""`, `true`}}, true},
		{`{"a":1,"a":2}`, []member{{`"a"`, `1`}, {`"a"`, `2`}}, true},
		{``, nil, false},
		{`[1]`, nil, false},
		{`{"a":1`, nil, false},
		{`{"a":1,}`, nil, false},
		{`{"a"}`, nil, false},
		{`{"a":}`, nil, false},
		{`{"a":"x}`, nil, false},
		{`{"a":[1}`, nil, false},
		{`{a:1}`, nil, false},
		{`{"a":1}x`, nil, false},
		{`{"a":1} {}`, nil, false},
	}
	for _, tc := range tests {
		got, ok := walk(tc.s)
		if ok != tc.ok || ok && !slices.Equal(got, tc.want) {
			t.Errorf("Walk(%q) = %q, %v; want %q, %v", tc.s, got, ok, tc.want, tc.ok)
		}
	}
	var keys []string
	if !Walk([]byte(`{"x":1,"y":2}`), func(k, _ []byte) { keys = append(keys, string(k)) }) ||
		!slices.Equal(keys, []string{`"x"`, `"y"`}) {
		t.Errorf("Walk of bytes: keys %q", keys)
	}
}

// FuzzWalk checks Walk against encoding/json on every valid JSON object:
// the same members in the same order, keys decoded alike, values equal
// once compacted. On other input it must only not panic.
func FuzzWalk(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":[1,{"b":"}"}],"c":"\\"}`, ` { "x" : { } } `, `{"a":1,}`,
		`{"\u00e9":"\ud83d\ude00"}`, `[]`, `{"a":tru}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := walk(s)
		b := []byte(s)
		if !json.Valid(b) || bytes.TrimLeft(b, " \t\r\n")[0] != '{' {
			return
		}
		if !ok {
			t.Fatalf("Walk(%q) failed on a valid object", s)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.Token() // '{'
		var want []member
		for dec.More() {
			tok, _ := dec.Token()
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			want = append(want, member{tok.(string), string(v)})
		}
		if len(got) != len(want) {
			t.Fatalf("Walk(%q) found %d members, the decoder %d", s, len(got), len(want))
		}
		for i, w := range want {
			var key string
			if err := json.Unmarshal([]byte(got[i].key), &key); err != nil || key != w.key {
				t.Fatalf("Walk(%q) member %d key %s, decoder %q", s, i, got[i].key, w.key)
			}
			var a, c bytes.Buffer
			_ = json.Compact(&a, []byte(got[i].value))
			_ = json.Compact(&c, []byte(w.value))
			if a.String() != c.String() {
				t.Fatalf("Walk(%q) member %d value %s, decoder %s", s, i, got[i].value, w.value)
			}
		}
	})
}
