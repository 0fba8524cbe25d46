package thingmodel

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func loadTestdata(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("want 3 testdata models, found %d", len(files))
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// exported returns the exported part of m for comparisons.
func exported(m *Model) Model {
	return Model{Version: m.Version, Profile: m.Profile, Properties: m.Properties, Events: m.Events, Actions: m.Actions}
}

func TestParseTestdataRoundTrip(t *testing.T) {
	want := map[string]struct {
		product       string
		props, events int
		actions       int
	}{
		"c_sdk_example_config.json":  {"U7D5MBSDYB", 5, 3, 1},
		"java_sdk_light_sample.json": {"3INKNQFTGV", 4, 3, 1},
		"java_sdk_struct_array.json": {"4ALW3EHQW3", 10, 3, 0},
	}
	for name, data := range loadTestdata(t) {
		t.Run(name, func(t *testing.T) {
			m, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			w := want[name]
			if m.Profile.ProductID != w.product || len(m.Properties) != w.props || len(m.Events) != w.events || len(m.Actions) != w.actions {
				t.Fatalf("got product %q, %d/%d/%d; want %+v", m.Profile.ProductID, len(m.Properties), len(m.Events), len(m.Actions), w)
			}
			if !bytes.Equal(m.Raw(), data) {
				t.Error("Raw() differs from the input")
			}
			canon := m.JSON()
			m2, err := Parse(canon)
			if err != nil {
				t.Fatalf("Parse(JSON()): %v\n%s", err, canon)
			}
			if !reflect.DeepEqual(exported(m), exported(m2)) {
				t.Errorf("Parse(JSON()) not equivalent:\n%+v\n%+v", exported(m), exported(m2))
			}
			if !bytes.Equal(canon, m2.JSON()) {
				t.Error("JSON() is not stable")
			}
		})
	}
}

func TestParseFlexibleFields(t *testing.T) {
	m, err := Parse([]byte(`{"profile":{"productID":"P1","CategoryId":3},"properties":[
		{"id":"n","name":"n","mode":"r","define":{"type":"int","min":-5,"max":5.0,"start":"0","step":"undefined","unit":"undefined"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Profile.ProductID != "P1" || m.Profile.CategoryID != "3" {
		t.Errorf("profile = %+v", m.Profile)
	}
	d := m.Properties[0].Define
	if d.Min != "-5" || d.Max != "5.0" || d.Step != "undefined" {
		t.Errorf("limits = %q %q %q", d.Min, d.Max, d.Step)
	}
	if !strings.Contains(string(m.JSON()), `"min":"-5"`) {
		t.Errorf("canonical JSON must write limits as strings: %s", m.JSON())
	}
}

func model(props, events, actions string) []byte {
	return fmt.Appendf(nil, `{"version":"1.0","profile":{"ProductId":"P","CategoryId":"1"},"properties":[%s],"events":[%s],"actions":[%s]}`, props, events, actions)
}

func prop(id, define string) string {
	return fmt.Sprintf(`{"id":%q,"name":"n","mode":"rw","define":%s}`, id, define)
}

func TestParseErrors(t *testing.T) {
	intDef := `{"type":"int","min":"0","max":"10"}`
	manyParams := make([]string, MaxEventParams+1)
	for i := range manyParams {
		manyParams[i] = fmt.Sprintf(`{"id":"p%d","name":"p","define":{"type":"bool"}}`, i)
	}
	tests := []struct {
		name, code, id string
		data           []byte
	}{
		{"empty", CodeModelDefineNil, "", []byte("  ")},
		{"null", CodeModelDefineNil, "", []byte("null")},
		{"not object", CodeModelDefineInvalid, "", []byte("[]")},
		{"bad json", CodeModelDefineInvalid, "", []byte(`{"properties":`)},
		{"bad limit", CodeModelDefineInvalid, "", model(prop("a", `{"type":"int","min":true}`), "", "")},
		{"missing id", CodeModelDefineInvalid, "", model(prop("", intDef), "", "")},
		{"dup property", CodeModelDefineDupID, "a", model(prop("a", intDef)+","+prop("a", intDef), "", "")},
		{"dup across sections", CodeModelDefineDupID, "a", model(prop("a", intDef), `{"id":"a","name":"a","type":"info","params":[]}`, "")},
		{"bad mode", CodeModelDefineInvalid, "a", model(`{"id":"a","name":"a","mode":"w","define":{"type":"bool"}}`, "", "")},
		{"unknown type", CodeModelDefineErrorType, "a", model(prop("a", `{"type":"double"}`), "", "")},
		{"missing type", CodeModelDefineErrorType, "a", model(prop("a", `{}`), "", "")},
		{"int min > max", CodeModelDefinePropRangeError, "a", model(prop("a", `{"type":"int","min":"10","max":"0"}`), "", "")},
		{"int start outside", CodeModelDefinePropRangeError, "a", model(prop("a", `{"type":"int","min":"0","max":"10","start":"11"}`), "", "")},
		{"int step zero", CodeModelDefinePropRangeError, "a", model(prop("a", `{"type":"int","min":"0","max":"10","step":"0"}`), "", "")},
		{"int step negative", CodeModelDefinePropRangeError, "a", model(prop("a", `{"type":"int","min":"0","max":"10","step":"-1"}`), "", "")},
		{"int step > range", CodeModelDefinePropRangeError, "a", model(prop("a", `{"type":"int","min":"0","max":"10","step":"11"}`), "", "")},
		{"int not a number", CodeModelDefinePropRangeError, "a", model(prop("a", `{"type":"int","min":"abc","max":"10"}`), "", "")},
		{"int fractional limit", CodeModelDefinePropRangeError, "a", model(prop("a", `{"type":"int","min":"0.5","max":"10"}`), "", "")},
		{"int overflow", CodeModelDefinePropRangeOverflow, "a", model(prop("a", `{"type":"int","min":"0","max":"3000000000"}`), "", "")},
		{"float NaN", CodeModelDefinePropRangeError, "a", model(prop("a", `{"type":"float","min":"NaN","max":"1"}`), "", "")},
		{"float min > max", CodeModelDefinePropRangeError, "a", model(prop("a", `{"type":"float","min":"1.5","max":"1.0"}`), "", "")},
		{"float overflow", CodeModelDefinePropRangeOverflow, "a", model(prop("a", `{"type":"float","min":"0","max":"1e300"}`), "", "")},
		{"enum no mapping", CodeModelDefinePropEnumMappingError, "a", model(prop("a", `{"type":"enum"}`), "", "")},
		{"enum key not int", CodeModelDefinePropEnumMappingError, "a", model(prop("a", `{"type":"enum","mapping":{"x":"X"}}`), "", "")},
		{"enum key not canonical", CodeModelDefinePropEnumMappingError, "a", model(prop("a", `{"type":"enum","mapping":{"01":"X"}}`), "", "")},
		{"stringenum no mapping", CodeModelDefinePropEnumMappingError, "a", model(prop("a", `{"type":"stringenum","mapping":{}}`), "", "")},
		{"bool mapping keys", CodeModelDefinePropBoolMappingError, "a", model(prop("a", `{"type":"bool","mapping":{"0":"off","2":"on"}}`), "", "")},
		{"bool mapping extra", CodeModelDefinePropBoolMappingError, "a", model(prop("a", `{"type":"bool","mapping":{"0":"off","1":"on","2":"?"}}`), "", "")},
		{"string max overflow", CodeModelDefinePropRangeOverflow, "a", model(prop("a", `{"type":"string","min":"0","max":"4096"}`), "", "")},
		{"string min > max", CodeModelDefinePropRangeError, "a", model(prop("a", `{"type":"string","min":"10","max":"5"}`), "", "")},
		{"string negative min", CodeModelDefinePropRangeError, "a", model(prop("a", `{"type":"string","min":"-1","max":"5"}`), "", "")},
		{"struct no specs", CodeModelDefineInvalid, "a", model(prop("a", `{"type":"struct"}`), "", "")},
		{"struct nested struct", CodeModelDefineErrorType, "a.m", model(prop("a", `{"type":"struct","specs":[{"id":"m","name":"m","dataType":{"type":"struct","specs":[{"id":"x","name":"x","dataType":{"type":"bool"}}]}}]}`), "", "")},
		{"struct member array", CodeModelDefineErrorType, "a.m", model(prop("a", `{"type":"struct","specs":[{"id":"m","name":"m","dataType":{"type":"array","arrayInfo":{"type":"int"}}}]}`), "", "")},
		{"struct dup member", CodeModelDefineDupID, "a.m", model(prop("a", `{"type":"struct","specs":[{"id":"m","name":"m","dataType":{"type":"bool"}},{"id":"m","name":"m","dataType":{"type":"bool"}}]}`), "", "")},
		{"struct member bad range", CodeModelDefinePropRangeError, "a.m", model(prop("a", `{"type":"struct","specs":[{"id":"m","name":"m","dataType":{"type":"int","min":"5","max":"1"}}]}`), "", "")},
		{"array no arrayInfo", CodeModelDefineInvalid, "a", model(prop("a", `{"type":"array"}`), "", "")},
		{"array of bool", CodeModelDefineErrorType, "a", model(prop("a", `{"type":"array","arrayInfo":{"type":"bool"}}`), "", "")},
		{"array of array", CodeModelDefineErrorType, "a", model(prop("a", `{"type":"array","arrayInfo":{"type":"array","arrayInfo":{"type":"int"}}}`), "", "")},
		{"array struct nested", CodeModelDefineErrorType, "a.m", model(prop("a", `{"type":"array","arrayInfo":{"type":"struct","specs":[{"id":"m","name":"m","dataType":{"type":"struct","specs":[]}}]}}`), "", "")},
		{"array elem bad range", CodeModelDefinePropRangeError, "a", model(prop("a", `{"type":"array","arrayInfo":{"type":"float","min":"2","max":"1"}}`), "", "")},
		{"event type wrong", CodeModelDefineEventTypeError, "e", model("", `{"id":"e","name":"e","type":"warn","params":[]}`, "")},
		{"event type missing", CodeModelDefineEventTypeMissing, "e", model("", `{"id":"e","name":"e","params":[]}`, "")},
		{"event params dup", CodeModelDefineEventParamsDupID, "e.p", model("", `{"id":"e","name":"e","type":"info","params":[{"id":"p","name":"p","define":{"type":"bool"}},{"id":"p","name":"p","define":{"type":"bool"}}]}`, "")},
		{"event too many params", CodeModelDefineEventParamsExceedLimit, "e", model("", `{"id":"e","name":"e","type":"info","params":[`+strings.Join(manyParams, ",")+`]}`, "")},
		{"event param bad define", CodeModelDefinePropEnumMappingError, "e.p", model("", `{"id":"e","name":"e","type":"info","params":[{"id":"p","name":"p","define":{"type":"enum"}}]}`, "")},
		{"action input dup", CodeModelDefineDupID, "x.i", model("", "", `{"id":"x","name":"x","input":[{"id":"i","name":"i","define":{"type":"bool"}},{"id":"i","name":"i","define":{"type":"bool"}}],"output":[]}`)},
		{"action output bad", CodeModelDefineErrorType, "x.o", model("", "", `{"id":"x","name":"x","input":[],"output":[{"id":"o","name":"o","define":{"type":"map"}}]}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(tt.data)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", exported(m))
			}
			if got := Code(err); got != tt.code {
				t.Errorf("Code = %q, want %q (%v)", got, tt.code, err)
			}
			if !errors.Is(err, ErrInvalidModel) {
				t.Errorf("error does not match ErrInvalidModel: %v", err)
			}
			var de *DefineError
			if errors.As(err, &de) && de.ID != tt.id {
				t.Errorf("ID = %q, want %q (%v)", de.ID, tt.id, err)
			}
			if tt.id != "" && !strings.Contains(err.Error(), tt.id) {
				t.Errorf("message %q does not name %q", err, tt.id)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct{ name, define string }{
		{"bool without mapping", `{"type":"bool"}`},
		{"int numbers", `{"type":"int","min":-180,"max":180,"start":1,"step":1}`},
		{"int degenerate range", `{"type":"int","min":"5","max":"5","step":"1"}`},
		{"int defaults", `{"type":"int"}`},
		{"float", `{"type":"float","min":"-0.5","max":"24.0","start":"1","step":"0.1"}`},
		{"enum negative key", `{"type":"enum","mapping":{"-1":"n","0":"z"}}`},
		{"stringenum", `{"type":"stringenum","mapping":{"low":"L","high":"H"}}`},
		{"string default", `{"type":"string"}`},
		{"string 2048", `{"type":"string","min":"0","max":"2048"}`},
		{"timestamp", `{"type":"timestamp"}`},
		{"array struct", `{"type":"array","arrayInfo":{"type":"struct","specs":[{"id":"m","name":"m","dataType":{"type":"stringenum","mapping":{"a":"A"}}}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(model(prop("a", tt.define), "", "")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCodeOfOtherErrors(t *testing.T) {
	if got := Code(errors.New("x")); got != "" {
		t.Errorf("Code = %q", got)
	}
	wrapped := fmt.Errorf("import: %w", defErr(CodeModelDefineNil, "", "empty"))
	if got := Code(wrapped); got != CodeModelDefineNil {
		t.Errorf("Code = %q", got)
	}
}

func TestLookups(t *testing.T) {
	m := mustParse(t, allTypesModel)
	tests := []struct {
		id         string
		prop, ev   bool
		act        bool
		wantDefine string
	}{
		{"i", true, false, false, TypeInt},
		{"ro", true, false, false, TypeInt},
		{"ev", false, true, false, ""},
		{"act", false, false, true, ""},
		{"nope", false, false, false, ""},
	}
	for _, tt := range tests {
		p, okP := m.Property(tt.id)
		_, okE := m.Event(tt.id)
		_, okA := m.Action(tt.id)
		if okP != tt.prop || okE != tt.ev || okA != tt.act {
			t.Errorf("%s: lookups = %v %v %v", tt.id, okP, okE, okA)
		}
		if okP && (p.ID != tt.id || p.Define.Type != tt.wantDefine) {
			t.Errorf("%s: Property = %+v", tt.id, p)
		}
	}
}
