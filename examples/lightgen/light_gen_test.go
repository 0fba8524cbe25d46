package lightgen

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestPropertiesRoundTrip(t *testing.T) {
	in := Properties{PowerSwitch: ptr(true), Brightness: ptr(int64(42)), Position: &Position{Longitude: -120, Latitude: 45}}
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
	w := in.ToWire()
	if len(w) != 3 || w["power_switch"] != 1 {
		t.Fatalf("ToWire = %v: want only the 3 set values, bool as 1", w)
	}
	// Through JSON, as the sdk delivers a control.
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var out Properties
	if err := out.FromWire(m); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip: got %+v, want %+v", out, in)
	}
}

func TestFromWireErrors(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		want error
	}{
		{"out of range", map[string]any{"brightness": 101.0}, errOutOfRange},
		{"not an integer", map[string]any{"brightness": 1.5}, errWrongType},
		{"bad enum", map[string]any{"color": 7.0}, errNotEnumValue},
		{"bad bool", map[string]any{"power_switch": 2.0}, errWrongType},
		{"string too long", map[string]any{"name": string(make([]byte, 65))}, errOutOfRange},
		{"unknown key", map[string]any{"nope": 1.0}, errNotInModel},
		{"struct member range", map[string]any{"position": map[string]any{"longitude": 181.0}}, errOutOfRange},
		{"struct not object", map[string]any{"position": "x"}, errWrongType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Properties
			if err := p.FromWire(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("FromWire(%v) = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
}

func TestActionAndEvent(t *testing.T) {
	var in LightBlinkInput
	if err := in.FromWire(map[string]any{"time": 3.0, "color": true, "total_time": 10.0}); err != nil {
		t.Fatal(err)
	}
	if in.Time != 3 || !in.Color || in.TotalTime != 10 {
		t.Errorf("input = %+v", in)
	}
	out := LightBlinkOutput{ErrCode: 7}
	if err := out.Validate(); !errors.Is(err, errNotEnumValue) {
		t.Errorf("Validate(err_code 7) = %v", err)
	}
	ev := LowVoltageEvent{Voltage: 3.3}
	if ev.ID() != "low_voltage" || ev.Type() != "alert" || ev.Validate() != nil || ev.ToWire()["voltage"] != 3.3 {
		t.Errorf("event %+v: id %q type %q wire %v", ev, ev.ID(), ev.Type(), ev.ToWire())
	}
	if err := (&LowVoltageEvent{Voltage: 25}).Validate(); !errors.Is(err, errOutOfRange) {
		t.Errorf("Validate(voltage 25) = %v", err)
	}
}
