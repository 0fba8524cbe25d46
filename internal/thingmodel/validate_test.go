package thingmodel

import (
	"errors"
	"strings"
	"testing"
)

const allTypesModel = `{"version":"1.0","profile":{"ProductId":"P","CategoryId":"1"},
"properties":[
 {"id":"b","name":"b","mode":"rw","define":{"type":"bool","mapping":{"0":"off","1":"on"}}},
 {"id":"i","name":"i","mode":"rw","define":{"type":"int","min":"-10","max":"100","start":"0","step":"1"}},
 {"id":"f","name":"f","mode":"rw","define":{"type":"float","min":"0","max":"24.5","start":"0","step":"0.5"}},
 {"id":"e","name":"e","mode":"rw","define":{"type":"enum","mapping":{"0":"r","1":"g","2":"b"}}},
 {"id":"se","name":"se","mode":"rw","define":{"type":"stringenum","mapping":{"low":"L","high":"H"}}},
 {"id":"s","name":"s","mode":"rw","define":{"type":"string","min":"1","max":"4"}},
 {"id":"ts","name":"ts","mode":"rw","define":{"type":"timestamp"}},
 {"id":"st","name":"st","mode":"rw","define":{"type":"struct","specs":[
   {"id":"x","name":"x","dataType":{"type":"int","min":"0","max":"10"}},
   {"id":"y","name":"y","dataType":{"type":"string","min":"0","max":"3"}},
   {"id":"z","name":"z","dataType":{"type":"bool"}}]}},
 {"id":"ai","name":"ai","mode":"rw","define":{"type":"array","arrayInfo":{"type":"int","min":"0","max":"100"}}},
 {"id":"af","name":"af","mode":"rw","define":{"type":"array","arrayInfo":{"type":"float","min":"0","max":"1"}}},
 {"id":"as","name":"as","mode":"rw","define":{"type":"array","arrayInfo":{"type":"string","min":"0","max":"2"}}},
 {"id":"ast","name":"ast","mode":"rw","define":{"type":"array","arrayInfo":{"type":"struct","specs":[
   {"id":"k","name":"k","dataType":{"type":"enum","mapping":{"0":"a","1":"b"}}}]}}},
 {"id":"ro","name":"ro","mode":"r","define":{"type":"int","min":"0","max":"10"}}
],
"events":[{"id":"ev","name":"ev","type":"alert","params":[
 {"id":"v","name":"v","define":{"type":"float","min":"0","max":"24"}},
 {"id":"msg","name":"msg","define":{"type":"string","min":"0","max":"8"}}]}],
"actions":[{"id":"act","name":"act","input":[
 {"id":"t","name":"t","define":{"type":"int","min":"0","max":"10"}},
 {"id":"c","name":"c","define":{"type":"bool"}}],
 "output":[{"id":"code","name":"code","define":{"type":"enum","mapping":{"0":"ok","1":"fail"}}}]}]}`

func mustParse(t testing.TB, data string) *Model {
	t.Helper()
	m, err := Parse([]byte(data))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

// checkResult asserts the protocol code and, for failures, the named parameter.
func checkResult(t *testing.T, err error, code int, param string) {
	t.Helper()
	if got := ProtocolCode(err); got != code {
		t.Fatalf("ProtocolCode = %d, want %d (err: %v)", got, code, err)
	}
	if err == nil || param == "" {
		return
	}
	var ve *ValueError
	if !errors.As(err, &ve) {
		t.Fatalf("error %T is not a *ValueError: %v", err, err)
	}
	if ve.Param != param {
		t.Errorf("Param = %q, want %q (err: %v)", ve.Param, param, err)
	}
	if !strings.Contains(err.Error(), param) {
		t.Errorf("message %q does not name %q", err, param)
	}
}

func TestValidateReport(t *testing.T) {
	m := mustParse(t, allTypesModel)
	tests := []struct {
		name   string
		params string
		code   int
		param  string
	}{
		{"absent", ``, 0, ""},
		{"null", `null`, 0, ""},
		{"empty", ` { } `, 0, ""},
		{"all valid", `{"b":1,"i":-10,"f":24.5,"e":2,"se":"high","s":"abcd","ts":1628646783,
			"st":{"x":10,"y":"abc","z":true},"ai":[0,100],"af":[0.5,1],"as":["","ab"],"ast":[{"k":1},{}],"ro":3}`, 0, ""},
		{"bool true", `{"b":true}`, 0, ""},
		{"bool false", `{"b":false}`, 0, ""},
		{"bool 0", `{"b":0}`, 0, ""},
		{"bool 2", `{"b":2}`, 406, "b"},
		{"bool string", `{"b":"1"}`, 406, "b"},
		{"bool null", `{"b":null}`, 406, "b"},
		{"int max", `{"i":100}`, 0, ""},
		{"int integral float", `{"i":7.0}`, 0, ""},
		{"int exponent", `{"i":1e2}`, 0, ""},
		{"int over", `{"i":101}`, 406, "i"},
		{"int under", `{"i":-11}`, 406, "i"},
		{"int fraction", `{"i":1.5}`, 406, "i"},
		{"int huge", `{"i":123456789012345678901234567890}`, 406, "i"},
		{"int huge float", `{"i":1e400}`, 406, "i"},
		{"int string", `{"i":"5"}`, 406, "i"},
		{"int bool", `{"i":true}`, 406, "i"},
		{"float int value", `{"f":20}`, 0, ""},
		{"float negative", `{"f":-0.1}`, 406, "f"},
		{"float over", `{"f":24.51}`, 406, "f"},
		{"float array", `{"f":[1]}`, 406, "f"},
		{"enum ok", `{"e":0}`, 0, ""},
		{"enum not key", `{"e":3}`, 406, "e"},
		{"enum string", `{"e":"1"}`, 406, "e"},
		{"stringenum ok escaped", `{"se":"l\u006fw"}`, 0, ""},
		{"stringenum not key", `{"se":"mid"}`, 406, "se"},
		{"stringenum int", `{"se":1}`, 406, "se"},
		{"string too long", `{"s":"abcde"}`, 406, "s"},
		{"string too short", `{"s":""}`, 406, "s"},
		{"string bytes not chars", `{"s":"灯灯"}`, 406, "s"},
		{"string one cjk", `{"s":"灯"}`, 0, ""},
		{"string escapes count decoded", `{"s":"\n\t\"\\"}`, 0, ""},
		{"string surrogate pair", `{"s":"\ud83d\ude00"}`, 0, ""},
		{"string bad utf8", "{\"s\":\"a\xffb\"}", 406, "s"},
		{"string number", `{"s":12}`, 406, "s"},
		{"timestamp ok", `{"ts":0}`, 0, ""},
		{"timestamp ms", `{"ts":1628646783000}`, 0, ""},
		{"timestamp negative", `{"ts":-1}`, 406, "ts"},
		{"timestamp fraction", `{"ts":1.5}`, 406, "ts"},
		{"timestamp string", `{"ts":"1628646783"}`, 406, "ts"},
		{"struct partial", `{"st":{"x":1}}`, 0, ""},
		{"struct bad member", `{"st":{"x":11}}`, 406, "st.x"},
		{"struct unknown member", `{"st":{"q":1}}`, 406, "st.q"},
		{"struct not object", `{"st":[1]}`, 406, "st"},
		{"struct null", `{"st":null}`, 406, "st"},
		{"array empty", `{"ai":[]}`, 0, ""},
		{"array bad elem", `{"ai":[1,2,101]}`, 406, "ai[2]"},
		{"array elem type", `{"ai":[1,"2"]}`, 406, "ai[1]"},
		{"array not array", `{"ai":1}`, 406, "ai"},
		{"array float elem", `{"af":[0.5,1.5]}`, 406, "af[1]"},
		{"array string elem", `{"as":["abc"]}`, 406, "as[0]"},
		{"array struct elem", `{"ast":[{"k":0},{"k":2}]}`, 406, "ast[1].k"},
		{"array struct unknown", `{"ast":[{"j":0}]}`, 406, "ast[0].j"},
		{"unknown property", `{"b":1,"nope":1}`, 403, "nope"},
		{"unknown escaped", `{"n\u006fpe":1}`, 403, "nope"},
		{"escaped known key", `{"\u0062":1}`, 0, ""},
		{"first bad wins", `{"i":500,"nope":1}`, 406, "i"},
		{"not object", `[1]`, 406, ""},
		{"malformed", `{"b":1`, 400, ""},
		{"malformed trailing", `{"b":1} x`, 400, ""},
		{"malformed number", `{"i":01}`, 400, ""},
		{"malformed number dot", `{"i":1.}`, 400, ""},
		{"malformed key", `{b:1}`, 400, ""},
		{"malformed value", `{"s":x}`, 400, ""},
		{"malformed control char", "{\"s\":\"a\x01\"}", 400, ""},
		{"malformed escape", `{"s":"\x"}`, 400, ""},
		{"malformed array", `{"ai":[1 2]}`, 400, ""},
		{"malformed null", `nul`, 400, ""},
		{"malformed NUL", "\x00", 400, ""},
		{"malformed trailing NUL", "{}\x00", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkResult(t, m.ValidateReport([]byte(tt.params)), tt.code, tt.param)
		})
	}
}

func TestValidateControl(t *testing.T) {
	m := mustParse(t, allTypesModel)
	tests := []struct {
		name, params string
		code         int
		param        string
		readOnly     bool
	}{
		{"writable", `{"b":1,"i":5}`, 0, "", false},
		{"read-only", `{"b":1,"ro":5}`, 403, "ro", true},
		{"bad value", `{"i":1000}`, 406, "i", false},
		{"unknown", `{"x":1}`, 403, "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.ValidateControl([]byte(tt.params))
			checkResult(t, err, tt.code, tt.param)
			if got := errors.Is(err, ErrReadOnly); got != tt.readOnly {
				t.Errorf("errors.Is(ErrReadOnly) = %v", got)
			}
		})
	}
	// The same read-only property is fine in a report.
	if err := m.ValidateReport([]byte(`{"ro":5}`)); err != nil {
		t.Errorf("report of read-only property: %v", err)
	}
}

func TestValidateEvent(t *testing.T) {
	m := mustParse(t, allTypesModel)
	tests := []struct {
		name, id, typ, params string
		code                  int
		param                 string
	}{
		{"ok", "ev", "alert", `{"v":2.8,"msg":"low"}`, 0, ""},
		{"no params", "ev", "alert", `{}`, 0, ""},
		{"unknown event", "nope", "alert", `{}`, 403, "nope"},
		{"wrong type", "ev", "fault", `{}`, 406, "ev"},
		{"empty type", "ev", "", `{}`, 406, "ev"},
		{"unknown param", "ev", "alert", `{"x":1}`, 403, "x"},
		{"bad param", "ev", "alert", `{"v":25}`, 406, "v"},
		{"malformed", "ev", "alert", `{"v":`, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkResult(t, m.ValidateEvent(tt.id, tt.typ, []byte(tt.params)), tt.code, tt.param)
		})
	}
}

func TestValidateAction(t *testing.T) {
	m := mustParse(t, allTypesModel)
	tests := []struct {
		name, id, params string
		output           bool
		code             int
		param            string
	}{
		{"input ok", "act", `{"t":3,"c":1}`, false, 0, ""},
		{"input missing", "act", `{"t":3}`, false, 406, "c"},
		{"input none", "act", ``, false, 406, "t"},
		{"input bad", "act", `{"t":11,"c":1}`, false, 406, "t"},
		{"input unknown", "act", `{"t":1,"c":1,"z":1}`, false, 403, "z"},
		{"unknown action", "nope", `{}`, false, 403, "nope"},
		{"output ok", "act", `{"code":0}`, true, 0, ""},
		{"output omitted", "act", `{}`, true, 0, ""},
		{"output bad", "act", `{"code":5}`, true, 406, "code"},
		{"output unknown", "act", `{"Code":0}`, true, 403, "Code"},
		{"output unknown action", "nope", `{}`, true, 403, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.output {
				err = m.ValidateActionOutput(tt.id, []byte(tt.params))
			} else {
				err = m.ValidateActionInput(tt.id, []byte(tt.params))
			}
			checkResult(t, err, tt.code, tt.param)
		})
	}
	if !errors.Is(m.ValidateActionInput("act", []byte(`{}`)), ErrMissingParam) {
		t.Error("missing input does not match ErrMissingParam")
	}
}

// TestValidateWireSamples replays params seen in the SDK wire transcripts against the real models.
func TestValidateWireSamples(t *testing.T) {
	models := loadTestdata(t)
	c := mustParse(t, string(models["c_sdk_example_config.json"]))
	arr := mustParse(t, string(models["java_sdk_struct_array.json"]))
	checks := []struct {
		name string
		err  error
	}{
		{"report", c.ValidateReport([]byte(`{"power_switch":1,"color":1,"brightness":32,"name":"书房","position":{"longitude":-120,"latitude":45}}`))},
		{"event", c.ValidateEvent("low_voltage", "alert", []byte(`{"voltage":20}`))},
		{"event string", c.ValidateEvent("status_report", "info", []byte(`{"status": 0, "message": ""}`))},
		{"action input", c.ValidateActionInput("light_blink", []byte(`{"time":3,"color":1,"total_time":10}`))},
		{"action output", c.ValidateActionOutput("light_blink", []byte(`{"err_code": 0}`))},
		{"arrays", arr.ValidateReport([]byte(`{"arrInt":[1,2],"arrString":["a"],"arrFloat":[1.5],"arrStruct":[{"boolM":1,"intM":5,"stringM":"s","floatM":2.5,"enumM":0,"timeM":1}],"struct":{"time_param":0,"enum_param":1}}`))},
	}
	for _, ck := range checks {
		if ck.err != nil {
			t.Errorf("%s: %v", ck.name, ck.err)
		}
	}
}

func TestProtocolCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 503},
		{&ValueError{Err: ErrMalformed}, 400},
		{&ValueError{Err: ErrNotInModel}, 403},
		{&ValueError{Err: ErrReadOnly}, 403},
		{&ValueError{Err: ErrInvalidValue}, 406},
		{&ValueError{Err: ErrMissingParam}, 406},
		{&ValueError{Err: ErrEventType}, 406},
	}
	for _, tt := range tests {
		if got := ProtocolCode(tt.err); got != tt.want {
			t.Errorf("ProtocolCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestValidateConcurrent(t *testing.T) {
	m := mustParse(t, allTypesModel)
	done := make(chan error)
	for range 4 {
		go func() {
			var err error
			for range 200 {
				if err = m.ValidateReport([]byte(`{"b":1,"st":{"x":1},"ai":[1]}`)); err != nil {
					break
				}
				if m.ValidateControl([]byte(`{"ro":1}`)) == nil {
					err = errors.New("read-only control accepted")
					break
				}
			}
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
