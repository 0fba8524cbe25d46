package console

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/thingo-iot/thingo/internal/commlog"
	"github.com/thingo-iot/thingo/internal/thingmodel"
)

func mustDevModel(t testing.TB) *thingmodel.Model {
	t.Helper()
	m, err := thingmodel.Parse([]byte(devTestModel))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDevControlData(t *testing.T) {
	m := mustDevModel(t)
	tests := []struct {
		id, value string
		want      string // Data, or "" when an error is expected
		err       error
	}{
		{"power_switch", `true`, `{"power_switch":1}`, nil},
		{"power_switch", `"on"`, `{"power_switch":1}`, nil},
		{"power_switch", `0`, `{"power_switch":0}`, nil},
		{"power_switch", `2`, "", errDevBadValue},
		{"brightness", `" 7 "`, `{"brightness":7}`, nil},
		{"brightness", `7.5`, "", errDevBadValue},
		{"brightness", `-1`, "", errDevBadValue},
		{"brightness", `[1]`, "", errDevBadValue},
		{"color", `"2"`, `{"color":2}`, nil},
		{"color", `3`, "", errDevBadValue},
		{"label", `"hi"`, `{"label":"hi"}`, nil},
		{"label", `5`, "", errDevBadValue},
		{"alarm_at", `"1700000000"`, `{"alarm_at":1700000000}`, nil},
		{"temperature", `20`, "", errDevReadOnly},
		{"nope", `1`, "", errDevUnknownProperty},
		{"brightness", `null`, "", errDevBadValue},
		{"brightness", ``, "", errDevBadValue},
	}
	for _, tt := range tests {
		t.Run(tt.id+"="+tt.value, func(t *testing.T) {
			got, err := devControlData(m, tt.id, json.RawMessage(tt.value))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("= %s, %v; want %s", got, err, tt.want)
			}
		})
	}
	if _, err := devControlData(nil, "x", json.RawMessage("1")); !errors.Is(err, errDevUnknownProperty) {
		t.Errorf("no model: err = %v", err)
	}
}

func TestDevPresence(t *testing.T) {
	tests := []struct {
		e             commlog.Entry
		online, known bool
	}{
		{commlog.Entry{Direction: commlog.Event, Kind: commlog.EventConnected, ClientIP: "10.0.0.7", Result: "connected from 10.0.0.7, keepalive 60s"}, true, true},
		{commlog.Entry{Direction: commlog.Event, Kind: commlog.EventDisconnected, Result: "disconnected: keepalive timeout"}, false, true},
		{commlog.Entry{Direction: commlog.Event, Kind: commlog.EventDisconnected, Result: "disconnected"}, false, true},
		{commlog.Entry{Direction: commlog.Event, Kind: commlog.EventDropped, Result: "dropped: not connected on topic x"}, false, false},
		{commlog.Entry{Direction: commlog.Event, Kind: commlog.EventSkipped, Result: "3 entries skipped (slow viewer)"}, false, false},
		{commlog.Entry{Direction: commlog.Up, Kind: commlog.EventConnected, Result: "connected"}, false, false},
	}
	for _, tt := range tests {
		on, known := devPresence(tt.e)
		if on != tt.online || known != tt.known {
			t.Errorf("%+v: (%v, %v), want (%v, %v)", tt.e, on, known, tt.online, tt.known)
		}
	}
}

func TestDevClientIP(t *testing.T) {
	ev := func(r string) commlog.Entry {
		e := commlog.Entry{Direction: commlog.Event, Result: r}
		if ip, ok := strings.CutPrefix(r, "connected from "); ok {
			e.Kind, e.ClientIP = commlog.EventConnected, ip[:strings.Index(ip, ",")]
		}
		return e
	}
	tests := []struct {
		entries []commlog.Entry
		want    string
	}{
		{nil, ""},
		{[]commlog.Entry{ev("connected from 10.0.0.1, keepalive 60s"), ev("disconnected"), ev("connected from ::1, keepalive 30s, over ws")}, "::1"},
		{[]commlog.Entry{ev("connected from 192.168.1.9, keepalive 60s"), {Direction: commlog.Up, Kind: commlog.EventConnected, ClientIP: "1.2.3.4", Result: "connected from 1.2.3.4,"}}, "192.168.1.9"},
		{[]commlog.Entry{ev("dropped: x")}, ""},
	}
	for _, tt := range tests {
		if got := devClientIP(tt.entries); got != tt.want {
			t.Errorf("devClientIP(%v) = %q, want %q", tt.entries, got, tt.want)
		}
	}
}

func TestDevChangesData(t *testing.T) {
	tests := []struct {
		dir   commlog.Direction
		topic string
		want  bool
	}{
		{commlog.Up, "$thing/up/property/P/d", true},
		{commlog.Up, "$shadow/operation/P/d", true},
		{commlog.Down, "$thing/down/property/P/d", false},
		{commlog.Up, "$thing/up/event/P/d", false},
		{commlog.Event, "", false},
	}
	for _, tt := range tests {
		if got := devChangesData(commlog.Entry{Direction: tt.dir, Topic: tt.topic}); got != tt.want {
			t.Errorf("%s %s = %v", tt.dir, tt.topic, got)
		}
	}
}

func TestBuildDevModelView(t *testing.T) {
	data, err := parseDevData(`{"power_switch":{"Value":true,"LastUpdate":5},"color":{"Value":1,"LastUpdate":6},"label":{"Value":"a\"b","LastUpdate":7}}`)
	if err != nil {
		t.Fatal(err)
	}
	v := buildDevModelView(mustDevModel(t), data)
	byID := map[string]devField{}
	for _, f := range v.Properties {
		byID[f.ID] = f
	}
	tests := []struct {
		id, kind, value, text, label string
		write, numeric               bool
	}{
		{"power_switch", "checkbox", "true", "true", "on", true, true},
		{"brightness", "range", "", "", "", true, true},
		{"color", "select", "1", "1", "green", true, true},
		{"label", "text", `"a\"b"`, `a"b`, "", true, false},
		{"alarm_at", "number", "", "", "", true, false},
		{"temperature", "range", "", "", "", false, true},
	}
	for _, tt := range tests {
		f, ok := byID[tt.id]
		if !ok {
			t.Errorf("%s missing", tt.id)
			continue
		}
		if f.Kind != tt.kind || f.Value != tt.value || f.Text != tt.text || f.Label != tt.label || f.Write != tt.write || f.Numeric() != tt.numeric {
			t.Errorf("%s = %+v", tt.id, f)
		}
	}
	if !byID["power_switch"].Checked() || !byID["color"].Selected("1") || byID["color"].Selected("2") {
		t.Error("Checked/Selected wrong")
	}
	if len(v.Actions) != 1 || v.Actions[0].Inputs[0].InputID != "action-light_blink-time" || v.Events["overheat"] != "Overheat" {
		t.Errorf("actions/events = %+v %v", v.Actions, v.Events)
	}
	if _, err := parseDevData("{"); err == nil {
		t.Error("bad data accepted")
	}
}

func FuzzDevControlData(f *testing.F) {
	m := mustDevModel(f)
	for _, s := range []string{`{"id":"brightness","value":5}`, `{"id":"power_switch","value":"on"}`, `{"id":"label","value":"x"}`, `{"id":"color","value":"1e3"}`, `{"id":"x"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req devControlRequest
		if json.Unmarshal([]byte(body), &req) != nil {
			return
		}
		data, err := devControlData(m, req.ID, req.Value)
		if err != nil {
			return
		}
		if verr := m.ValidateControl(data); verr != nil {
			t.Fatalf("accepted %s -> %s, which the model refuses: %v", body, data, verr)
		}
	})
}

func FuzzDevActionInput(f *testing.F) {
	m := mustDevModel(f)
	for _, s := range []string{`{"time":5}`, `{"time":"5"}`, `{}`, `{"time":1,"x":2}`} {
		f.Add("light_blink", s)
	}
	f.Fuzz(func(t *testing.T, id, params string) {
		var p map[string]json.RawMessage
		if json.Unmarshal([]byte(params), &p) != nil {
			return
		}
		data, err := devActionInput(m, id, p)
		if err != nil {
			return
		}
		if verr := m.ValidateActionInput(id, data); verr != nil {
			t.Fatalf("accepted %s %s -> %s: %v", id, params, data, verr)
		}
	})
}
