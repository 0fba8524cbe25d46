package sdk_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/thingo-iot/thingo/sdk"
)

type lamp struct {
	Power      bool   `json:"power_switch"`
	Brightness int    `json:"brightness"`
	Name       string `json:"name,omitempty"`
}

func TestProperties(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want map[string]any
		ok   bool
	}{
		{"struct", lamp{Power: true, Brightness: 30}, map[string]any{"power_switch": true, "brightness": json.Number("30")}, true},
		{"map", map[string]int{"brightness": 1}, map[string]any{"brightness": json.Number("1")}, true},
		{"not an object", 3, nil, false},
		{"nil", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sdk.Properties(tt.in)
			if (err == nil) != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Properties = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestDecodeParams(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]any
		want   lamp
		ok     bool
	}{
		{"bool as 1", map[string]any{"power_switch": float64(1), "brightness": float64(40)}, lamp{Power: true, Brightness: 40, Name: "old"}, true},
		{"bool as 0", map[string]any{"power_switch": float64(0)}, lamp{Brightness: 10, Name: "old"}, true},
		{"bool as true", map[string]any{"power_switch": true}, lamp{Power: true, Brightness: 10, Name: "old"}, true},
		{"partial", map[string]any{"name": "new"}, lamp{Brightness: 10, Name: "new"}, true},
		{"wrong type", map[string]any{"brightness": "x"}, lamp{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lamp{Brightness: 10, Name: "old"}
			err := sdk.DecodeParams(tt.params, &got)
			if (err == nil) != tt.ok || tt.ok && got != tt.want {
				t.Fatalf("DecodeParams = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
