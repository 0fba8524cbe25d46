package console

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFleetSplitNames(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"a", []string{"a"}},
		{"a,b c\nd;e\r\n\tf", []string{"a", "b", "c", "d", "e", "f"}},
		{" ,, a ,a, b ", []string{"a", "b"}},
		{"dev_1\ndev_2\ndev_1", []string{"dev_1", "dev_2"}},
	}
	for _, tt := range tests {
		if got := fleetSplitNames(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("fleetSplitNames(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzFleetSplitNames(f *testing.F) {
	for _, s := range []string{"", "a,b", "a b\nc", " ,;\t", "dev\x00x,dev"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := fleetSplitNames(s)
		seen := map[string]bool{}
		for _, n := range got {
			if n == "" || strings.ContainsAny(n, ", ;\n\r\t") {
				t.Fatalf("fleetSplitNames(%q) has bad name %q", s, n)
			}
			if seen[n] {
				t.Fatalf("fleetSplitNames(%q) repeats %q", s, n)
			}
			seen[n] = true
			if !strings.Contains(s, n) {
				t.Fatalf("fleetSplitNames(%q) invented %q", s, n)
			}
		}
		if utf8.ValidString(s) && len(got) == 0 && strings.TrimFunc(s, func(r rune) bool { return strings.ContainsRune(", ;\n\r\t", r) }) != "" {
			t.Fatalf("fleetSplitNames(%q) lost every name", s)
		}
	})
}

func TestOTATaskRequest(t *testing.T) {
	tests := []struct {
		name      string
		names     []string
		form      otaTaskForm
		wantField string
		want      map[string]any
	}{
		{name: "nothing chosen", wantField: "DeviceNames"},
		{name: "devices", names: []string{"d1", "d2"},
			want: map[string]any{"ProductID": "P", "FirmwareVersion": "2.0", "DeviceNames": []string{"d1", "d2"}}},
		{name: "by version with options", form: otaTaskForm{FirmwareOriVersion: "1.0", TimeoutInterval: "300", MaxRetryNum: "0", OverrideMode: true},
			want: map[string]any{"ProductID": "P", "FirmwareVersion": "2.0", "FirmwareOriVersion": "1.0",
				"TimeoutInterval": int64(300), "MaxRetryNum": int64(0), "OverrideMode": 1}},
		{name: "bad number", names: []string{"d1"}, form: otaTaskForm{RolloutBatch: "x"}, wantField: "RolloutBatch"},
		{name: "negative", names: []string{"d1"}, form: otaTaskForm{PauseFailurePercent: "-1"}, wantField: "PauseFailurePercent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := otaTaskRequest("P", "2.0", tt.names, tt.form)
			if tt.wantField != "" {
				fe, ok := err.(*otaFieldError)
				if !ok || fe.Field != tt.wantField {
					t.Fatalf("err = %v, want a field error on %s", err, tt.wantField)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("otaTaskRequest = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestFleetStatusTexts(t *testing.T) {
	tests := []struct {
		fn   func(int64) string
		in   int64
		want string
	}{
		{fleetStatusText, 1, "online"},
		{fleetStatusText, 0, "offline"},
		{fleetStatusText, 3, "never online"},
		{otaTaskStatusText, 1, "running"},
		{otaTaskStatusText, 3, "canceled"},
		{otaTaskStatusText, 4, "paused"},
		{otaTaskStatusText, 7, "status 7"},
		{otaDeviceStatusText, 1, "pending"},
		{otaDeviceStatusText, 6, "done"},
		{otaDeviceStatusText, 9, "canceled"},
	}
	for _, tt := range tests {
		if got := tt.fn(tt.in); got != tt.want {
			t.Errorf("status %d = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOTAErrorField(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&otaFieldError{Field: "File", Message: "x"}, "File"},
		{&ActionError{Code: "InvalidParameterValue", Message: "parameter FirmwareVersion: must be 1-32 characters"}, "FirmwareVersion"},
		{&ActionError{Code: "MissingParameter", Message: "missing required parameter ProductID"}, "ProductId"},
		{&ActionError{Code: "InvalidParameterValue.FirmwareAlreadyExist", Message: "firmware version already exists"}, "FirmwareVersion"},
		{&ActionError{Code: "ResourceNotFound.ProductNotExist", Message: "product does not exist"}, "ProductId"},
		{&ActionError{Code: "InvalidParameterValue", Message: "the firmware file was not uploaded to the GetCOSURL address"}, "File"},
		{&ActionError{Code: "InternalError", Message: "boom"}, ""},
	}
	for _, tt := range tests {
		if got := otaErrorField(tt.err); got != tt.want {
			t.Errorf("otaErrorField(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
