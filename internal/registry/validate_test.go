package registry

import (
	"errors"
	"strings"
	"testing"
)

func TestValidDeviceName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"dev1", true},
		{"a:b_c-D9", true},
		{strings.Repeat("x", 48), true},
		{strings.Repeat("x", 49), false},
		{"", false},
		{"a b", false},
		{"a/b", false},
		{"设备", false},
	}
	for _, tt := range tests {
		if got := ValidDeviceName(tt.name); got != tt.want {
			t.Errorf("ValidDeviceName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNewIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id, err := newProductID()
		if err != nil || !ValidProductID(id) || seen[id] {
			t.Fatalf("newProductID = %q, %v", id, err)
		}
		seen[id] = true
	}
	psk, err := newPSK()
	if err != nil || checkPSK(psk) != nil || len(psk) != 24 {
		t.Fatalf("newPSK = %q, %v", psk, err)
	}
}

// FuzzNames checks that accepted names only ever contain what the topic
// grammar and the CONNECT username can carry.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"dev1", "a/b", "智能灯", "a//b", "x+#", strings.Repeat("z", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidDeviceName(s) && (len(s) > MaxDeviceNameLen || strings.ContainsAny(s, "/+#; \x00")) {
			t.Fatalf("device name %q accepted", s)
		}
		if err := validTopicName("TopicName", s); err == nil {
			if strings.ContainsAny(s, "+#: \x00") || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.Contains(s, "//") {
				t.Fatalf("topic name %q accepted", s)
			}
		} else if inv := (*InvalidError)(nil); !errors.As(err, &inv) {
			t.Fatalf("error %v is not an InvalidError", err)
		}
		if err := validProductName(s); err == nil && strings.ContainsAny(s, "/+#; \x00") {
			t.Fatalf("product name %q accepted", s)
		}
		_ = checkPSK(s) // must not panic
	})
}
