package thingmodel

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, data := range loadTestdata(f) {
		f.Add(data)
	}
	f.Add([]byte(allTypesModel))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"properties":[{"id":"a","mode":"r","define":{"type":"int","min":1,"max":"1e1"}}]}`))
	f.Add([]byte(`{"properties":[{"id":"a","mode":"rw","define":{"type":"array","arrayInfo":{"type":"struct","specs":[{"id":"m","dataType":{"type":"enum","mapping":{"-3":"x"}}}]}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			if Code(err) == "" {
				t.Fatalf("Parse error without API code: %v", err)
			}
			return
		}
		canon := m.JSON()
		m2, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(JSON()) failed: %v\ninput: %q\ncanon: %s", err, data, canon)
		}
		if again := m2.JSON(); !bytes.Equal(canon, again) {
			t.Fatalf("JSON() not stable:\n%s\n%s", canon, again)
		}
		// A parsed model must validate anything without panicking.
		_ = m.ValidateReport(data)
		_ = m.ValidateControl([]byte(`{"a":1}`))
	})
}

func FuzzValidateReport(f *testing.F) {
	seeds := []string{
		``, `null`, `{}`, `{"b":1,"i":5,"f":1.5}`, `{"st":{"x":1,"y":"ab","z":false}}`,
		`{"ai":[1,2,3],"af":[0.5],"as":["a"],"ast":[{"k":1}]}`, `{"s":"\u00e9\ud83d\ude00"}`,
		`{"se":"low","e":2,"ts":1628646783}`, `{"i":1e2}`, `{"nope":1}`, `{"i":"x"}`, `{"b":1`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	m, err := Parse([]byte(allTypesModel))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		err := m.ValidateReport(params)
		code := ProtocolCode(err)
		switch code {
		case 0, 400, 403, 406:
		default:
			t.Fatalf("unexpected code %d: %v", code, err)
		}
		blank := len(bytes.TrimSpace(params)) == 0
		valid := json.Valid(params)
		if code == 400 && valid {
			t.Fatalf("valid JSON reported as malformed: %v", err)
		}
		// Invalid JSON may fail with 403/406 when a bad id or value comes before the syntax error
		// (the first error wins), but it must never be accepted.
		if code == 0 && !valid && !blank {
			t.Fatal("invalid JSON accepted")
		}
		if code != 0 || blank {
			return
		}
		// Accepted: a reference validator over encoding/json values must agree.
		dec := json.NewDecoder(bytes.NewReader(params))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatalf("accepted but encoding/json fails: %v", err)
		}
		for k, v := range obj {
			p := m.props[k]
			if p == nil || !refValid(p.c, v) {
				t.Fatalf("accepted but reference rejects %q=%v", k, v)
			}
		}
	})
}

// refValid is a slow reference validator over values decoded by encoding/json (UseNumber).
func refValid(c *checker, v any) bool {
	switch c.kind {
	case kindBool:
		if _, ok := v.(bool); ok {
			return true
		}
		n, ok := refInt(v)
		return ok && (n == 0 || n == 1)
	case kindInt:
		n, ok := refInt(v)
		return ok && n >= c.imin && n <= c.imax
	case kindFloat:
		num, ok := v.(json.Number)
		if !ok {
			return false
		}
		x, err := strconv.ParseFloat(string(num), 64)
		return err == nil && x >= c.fmin && x <= c.fmax
	case kindEnum:
		n, ok := refInt(v)
		return ok && slices.Contains(c.enumKeys, n)
	case kindTimestamp:
		n, ok := refInt(v)
		return ok && n >= 0
	case kindString:
		s, ok := v.(string)
		return ok && len(s) >= c.smin && len(s) <= c.smax
	case kindStringEnum:
		s, ok := v.(string)
		return ok && slices.Contains(c.strKeys, s)
	case kindStruct:
		obj, ok := v.(map[string]any)
		if !ok {
			return false
		}
		for k, mv := range obj {
			mc := findField(c.members, k)
			if mc == nil || !refValid(mc, mv) {
				return false
			}
		}
		return true
	case kindArray:
		arr, ok := v.([]any)
		if !ok {
			return false
		}
		for _, e := range arr {
			if !refValid(c.elem, e) {
				return false
			}
		}
		return true
	}
	return false
}

func refInt(v any) (int64, bool) {
	num, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	s := string(num)
	if !strings.ContainsAny(s, ".eE") {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || x != math.Trunc(x) || x < -(1<<63) || x >= 1<<63 {
		return 0, false
	}
	return int64(x), true
}
