package commlog

import (
	"encoding/json"
	"testing"
)

func TestScanFields(t *testing.T) {
	tests := []struct {
		name                  string
		in                    string
		ok                    bool
		method, token, status string
		code                  int
		hasCode, hasStatus    bool
	}{
		{name: "report", in: `{"method":"report","clientToken":"123","timestamp":1628646783,"params":{"power_switch":1,"color":[1,2]}}`,
			ok: true, method: "report", token: "123"},
		{name: "reply", in: `{"method":"report_reply","clientToken":"123","code":406,"status":"brightness: out of range"}`,
			ok: true, method: "report_reply", token: "123", code: 406, hasCode: true, status: "brightness: out of range", hasStatus: true},
		{name: "python control_reply", in: ` { "code" : 0 , "clientToken" : "c-1", "status":"ok" } `,
			ok: true, token: "c-1", hasCode: true, status: "ok", hasStatus: true},
		{name: "numeric token", in: `{"method":"report","clientToken":42}`, ok: true, method: "report", token: "42"},
		{name: "escaped status", in: `{"code":0,"status":"a \"b\" \u00e9"}`, ok: true, hasCode: true, status: `a "b" é`, hasStatus: true},
		{name: "nested method ignored", in: `{"params":{"method":"x","clientToken":"y"}}`, ok: true},
		{name: "empty object", in: `{}`, ok: true},
		{name: "not an object", in: `[1,2]`},
		{name: "unterminated", in: `{"method":"rep`},
		{name: "truncated after value", in: `{"method":"report",`},
		{name: "missing colon", in: `{"method" "report"}`},
		{name: "garbage", in: `hello`},
		{name: "empty", in: ``},
		{name: "code not integer", in: `{"code":1.5}`, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := scanFields(tt.in)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if got := f.method.text(tt.in, tt.in); got != tt.method {
				t.Errorf("method = %q, want %q", got, tt.method)
			}
			if got := f.token.text(tt.in, tt.in); got != tt.token {
				t.Errorf("clientToken = %q, want %q", got, tt.token)
			}
			if got := f.status.text(tt.in, ""); got != tt.status || f.hasStatus != tt.hasStatus {
				t.Errorf("status = %q (%v), want %q (%v)", got, f.hasStatus, tt.status, tt.hasStatus)
			}
			if f.code != tt.code || f.hasCode != tt.hasCode {
				t.Errorf("code = %d (%v), want %d (%v)", f.code, f.hasCode, tt.code, tt.hasCode)
			}
		})
	}
}

// FuzzScanFields checks that the scanner never panics and agrees with
// encoding/json on the members it reads from the objects both accept.
func FuzzScanFields(f *testing.F) {
	for _, s := range []string{
		`{"method":"report","clientToken":"123","params":{"a":[1,{"b":"c"}]}}`,
		`{"method":"report_reply","clientToken":"123","code":0,"status":"success"}`,
		`{"code":406,"clientToken":"x","status":"bad \u00e9"}`,
		`{"clientToken":7}`, `{`, `{"a":`, `[]`, `{"a":[[[[[]]]]]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := scanFields(in)
		if !ok || !json.Valid([]byte(in)) {
			return
		}
		var v struct {
			Method *string `json:"method"`
		}
		if json.Unmarshal([]byte(in), &v) != nil || v.Method == nil {
			return
		}
		if m := got.method.text(in, in); !got.method.escaped && m != *v.Method {
			t.Fatalf("method %q, encoding/json says %q", m, *v.Method)
		}
	})
}
