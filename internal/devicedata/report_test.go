package devicedata

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

// decoderReport is NewReport as a json.Decoder walk: the reference the
// single-pass version must agree with.
func decoderReport(params []byte) ([]PropertyValue, error) {
	if len(bytes.TrimSpace(params)) == 0 || string(bytes.TrimSpace(params)) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(params))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, ErrNotObject
	}
	var out []PropertyValue
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, ErrNotObject
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, ErrNotObject
		}
		out = append(out, PropertyValue{ID: key, Value: compact(v)})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, ErrNotObject
	}
	if len(bytes.TrimSpace(params[dec.InputOffset():])) > 0 {
		return nil, ErrNotObject // trailing data
	}
	return out, nil
}

func TestNewReport(t *testing.T) {
	at := time.UnixMilli(1700000000000)
	tests := []struct {
		params string
		want   []PropertyValue
		err    error
	}{
		{``, nil, nil},
		{` null `, nil, nil},
		{`{}`, nil, nil},
		{`{"a":1}`, []PropertyValue{{ID: "a", Value: json.RawMessage(`1`)}}, nil},
		{" {\n \"a\" : 1 ,\t\"b\":\"x y\", \"c\": { \"d\" : [ 1, 2 ] } } ", []PropertyValue{
			{ID: "a", Value: json.RawMessage(`1`)},
			{ID: "b", Value: json.RawMessage(`"x y"`)},
			{ID: "c", Value: json.RawMessage(`{"d":[1,2]}`)},
		}, nil},
		{`{"\u0061\"b":true,"n":null,"s":"}\"{[","f":-1.5e3}`, []PropertyValue{
			{ID: `a"b`, Value: json.RawMessage(`true`)},
			{ID: "n", Value: json.RawMessage(`null`)},
			{ID: "s", Value: json.RawMessage(`"}\"{["`)},
			{ID: "f", Value: json.RawMessage(`-1.5e3`)},
		}, nil},
		{`{"a":1,"a":2}`, []PropertyValue{{ID: "a", Value: json.RawMessage(`1`)}, {ID: "a", Value: json.RawMessage(`2`)}}, nil},
		{`[1]`, nil, ErrNotObject},
		{`"x"`, nil, ErrNotObject},
		{`{"a":1`, nil, ErrNotObject},
		{`{"a":tru}`, nil, ErrNotObject},
		{`{"a":1} {}`, nil, ErrNotObject},
		{`{}A`, nil, ErrNotObject},
		{`{a:1}`, nil, ErrNotObject},
	}
	for _, tc := range tests {
		r, err := NewReport("P", "D", at, []byte(tc.params))
		if !errors.Is(err, tc.err) {
			t.Errorf("NewReport(%q) error = %v, want %v", tc.params, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if r.ProductID != "P" || r.DeviceName != "D" || !r.At.Equal(at) {
			t.Errorf("NewReport(%q) = %+v: wrong device or time", tc.params, r)
		}
		if !reflect.DeepEqual(r.Values, tc.want) {
			t.Errorf("NewReport(%q) values = %s, want %s", tc.params, values(r.Values), values(tc.want))
		}
	}
}

func TestNewReportDoesNotAliasParams(t *testing.T) {
	params := []byte(`{"a":1}`)
	r, err := NewReport("P", "D", time.Now(), params)
	if err != nil {
		t.Fatal(err)
	}
	params[5] = '9'
	if got := string(r.Values[0].Value); got != "1" {
		t.Fatalf("value changed with the caller's buffer: %s", got)
	}
}

func values(vs []PropertyValue) string {
	var b bytes.Buffer
	for _, v := range vs {
		b.WriteString(v.ID + "=" + string(v.Value) + " ")
	}
	return b.String()
}

// FuzzNewReport checks NewReport against the json.Decoder walk.
func FuzzNewReport(f *testing.F) {
	for _, s := range []string{``, `null`, `{}`, `{"a":1}`, `{"a":[1,{"b":"}"}],"c":"\\"}`, ` { "x" : { } } `,
		`{"a":1,}`, `{"a"}`, `[]`, `{"\u00e9":"\ud83d\ude00"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		want, wantErr := decoderReport(params)
		r, err := NewReport("P", "D", time.Time{}, params)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("NewReport(%q) error = %v, the decoder walk's = %v", params, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(r.Values, want) {
			t.Fatalf("NewReport(%q) = %s, the decoder walk's = %s", params, values(r.Values), values(want))
		}
	})
}

func BenchmarkNewReport(b *testing.B) {
	params := []byte(`{"power_switch":1,"color":2,"brightness":42,"name":"bench-1","position":{"longitude":10,"latitude":20}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewReport("P", "D", time.Time{}, params); err != nil {
			b.Fatal(err)
		}
	}
}
