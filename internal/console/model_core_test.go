package console

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/thingo-iot/thingo/internal/thingmodel"
)

func TestLineCol(t *testing.T) {
	tests := []struct {
		text      string
		offset    int64
		line, col int
	}{
		{"", 0, 1, 1},
		{"{", 1, 1, 1},
		{"{\n  \"a\": 1,,", 12, 2, 10},
		{"{\n\n", 3, 3, 1},
		{"{\"é\": x", 8, 1, 7}, // columns count characters
		{"abc", 99, 1, 3},      // clamped
		{"abc", -1, 1, 1},
	}
	for _, tt := range tests {
		line, col := lineCol([]byte(tt.text), tt.offset)
		if line != tt.line || col != tt.col {
			t.Errorf("lineCol(%q, %d) = %d:%d, want %d:%d", tt.text, tt.offset, line, col, tt.line, tt.col)
		}
	}
}

func TestJSONSyntaxError(t *testing.T) {
	tests := []struct {
		text string
		ok   bool
		want string
	}{
		{`{"a":1}`, true, ""},
		{"{\n  \"a\": 1,\n}", false, "line 3, column 1"},
		{`[]`, false, "JSON object"},
		{`"x"`, false, "JSON object"},
		{`{"a":`, false, "line 1"},
	}
	for _, tt := range tests {
		e, ok := jsonSyntaxError([]byte(tt.text))
		if ok != tt.ok || !strings.Contains(e.Message, tt.want) {
			t.Errorf("jsonSyntaxError(%q) = %+v %v, want %v with %q", tt.text, e, ok, tt.ok, tt.want)
		}
	}
}

func TestModelErrorOf(t *testing.T) {
	tests := []struct {
		msg     string
		id, rem string
	}{
		{`parameter ModelSchema: "brightness": min 100 > max 0`, "brightness", "min 100 > max 0"},
		{`parameter ModelSchema: "position.longitude": bad`, "position.longitude", "bad"},
		{`parameter ModelSchema: "a\"b": x`, `a"b`, "x"},
		{`parameter ModelSchema: duplicate ids`, "", "duplicate ids"},
		{`parameter ModelSchema: "unterminated`, "", `"unterminated`},
		{`the product does not exist`, "", "the product does not exist"},
	}
	for _, tt := range tests {
		e := modelErrorOf(&ActionError{Code: "C", Message: tt.msg})
		if e.ID != tt.id || e.Message != tt.rem || e.Code != "C" {
			t.Errorf("modelErrorOf(%q) = %+v, want id %q message %q", tt.msg, e, tt.id, tt.rem)
		}
	}
}

// TestStarterTemplates checks that every template is a valid model and
// that smart-light has the shape the browser test relies on.
func TestStarterTemplates(t *testing.T) {
	ts := starterTemplates()
	if len(ts) < 2 || ts[0].ID != "smart-light" {
		t.Fatalf("templates = %v, want smart-light first and at least one more", ts)
	}
	for _, tt := range ts {
		if _, err := thingmodel.Parse([]byte(tt.forProduct("AB12CD34EF"))); err != nil {
			t.Errorf("template %s: %v", tt.ID, err)
		}
	}
	var m struct {
		Properties []struct {
			ID     string
			Define struct{ Type, Min, Max string }
		}
		Actions []struct {
			ID            string
			Input, Output []struct {
				ID     string
				Define struct{ Type string }
			}
		}
	}
	if err := json.Unmarshal([]byte(ts[0].JSON), &m); err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, p := range m.Properties {
		types[p.ID] = p.Define.Type
		if p.ID == "brightness" && (p.Define.Min != "0" || p.Define.Max != "100") {
			t.Errorf("brightness range %s..%s, want 0..100", p.Define.Min, p.Define.Max)
		}
	}
	if types["power_switch"] != "bool" || types["brightness"] != "int" || types["color"] != "enum" {
		t.Errorf("smart-light properties = %v", types)
	}
	if len(m.Actions) != 1 || m.Actions[0].ID != "light_blink" || len(m.Actions[0].Input) != 1 || m.Actions[0].Input[0].ID != "time" ||
		m.Actions[0].Input[0].Define.Type != "int" || len(m.Actions[0].Output) != 1 || m.Actions[0].Output[0].ID != "result" ||
		m.Actions[0].Output[0].Define.Type != "int" {
		t.Errorf("smart-light actions = %+v", m.Actions)
	}
}

func TestBuildDeviceInfo(t *testing.T) {
	tests := []struct {
		name string
		p    productItem
		d    deviceItem
		want string
	}{
		{"key", productItem{EncryptionType: "2"}, deviceItem{ProductId: "AB12CD34EF", DeviceName: "d1", DevicePsk: "c2VjcmV0"},
			`{"auth_mode":"KEY","productId":"AB12CD34EF","deviceName":"d1","region":"china","key_deviceinfo":{"deviceSecret":"c2VjcmV0"},"cert_deviceinfo":{"devCertFile":"","devPrivateKeyFile":""}}`},
		{"cert", productItem{EncryptionType: "1"}, deviceItem{ProductId: "AB12CD34EF", DeviceName: "d2"},
			`{"auth_mode":"CERT","productId":"AB12CD34EF","deviceName":"d2","region":"china","key_deviceinfo":{"deviceSecret":""},"cert_deviceinfo":{"devCertFile":"d2_cert.crt","devPrivateKeyFile":"d2_private.key"}}`},
	}
	for _, tt := range tests {
		b, err := buildDeviceInfo(tt.p, tt.d)
		if err != nil {
			t.Fatal(err)
		}
		var got, want any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal([]byte(tt.want), &want)
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		if string(gb) != string(wb) {
			t.Errorf("%s: device_info.json = %s, want %s", tt.name, b, tt.want)
		}
	}
}

func TestPager(t *testing.T) {
	base, _ := url.Parse("/console/devices?product=P&flash=x&offset=7")
	tests := []struct {
		offset, total  int64
		prev, next     string
		first, lastNum int64
	}{
		{0, 0, "", "", 0, 0},
		{0, 5, "", "", 1, 5},
		{0, 25, "", "/console/devices?offset=10&product=P", 1, 10},
		{10, 25, "/console/devices?product=P", "/console/devices?offset=20&product=P", 11, 20},
		{20, 25, "/console/devices?offset=10&product=P", "", 21, 25},
	}
	for _, tt := range tests {
		p := newPager(base, tt.offset, 10, tt.total)
		if p.PrevURL != tt.prev || p.NextURL != tt.next || p.First() != tt.first || p.Last() != tt.lastNum {
			t.Errorf("pager(%d of %d) = %+v first %d last %d", tt.offset, tt.total, p, p.First(), p.Last())
		}
	}
}

// FuzzJSONSyntaxError checks that any submitted model text gets an answer
// with a position inside the text.
func FuzzJSONSyntaxError(f *testing.F) {
	for _, s := range []string{`{"a":1}`, "{\n,}", "", "[", `{"é":`, "\xff\n{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, ok := jsonSyntaxError([]byte(s))
		if ok != (json.Valid([]byte(s)) && strings.HasPrefix(strings.TrimSpace(s), "{")) {
			t.Fatalf("jsonSyntaxError(%q) ok = %v", s, ok)
		}
		if !ok && e.Message == "" {
			t.Fatalf("jsonSyntaxError(%q) has no message", s)
		}
		for off := int64(-1); off <= int64(len(s))+1; off++ {
			line, col := lineCol([]byte(s), off)
			if line < 1 || col < 1 || line > strings.Count(s, "\n")+1 || col > utf8.RuneCountInString(s)+1 {
				t.Fatalf("lineCol(%q, %d) = %d:%d", s, off, line, col)
			}
		}
	})
}

// FuzzModelErrorOf checks that any API message maps without panicking and
// keeps its text.
func FuzzModelErrorOf(f *testing.F) {
	for _, s := range []string{`parameter ModelSchema: "x": y`, `parameter ModelSchema: "`, "plain", `parameter ModelSchema: "\u00e9`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		e := modelErrorOf(&ActionError{Code: "C", Message: msg})
		if e.ID == "" && !strings.HasSuffix(msg, e.Message) {
			t.Fatalf("modelErrorOf(%q) lost the message: %+v", msg, e)
		}
	})
}
