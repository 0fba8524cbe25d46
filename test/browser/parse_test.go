package browser_test

import (
	"strings"
	"testing"
)

func TestParseDeviceLine(t *testing.T) {
	tests := []struct {
		line       string
		pid, dn    string
		wantParsed bool
	}{
		{"DEVICE ABCDEFGHIJ lamp_1", "ABCDEFGHIJ", "lamp_1", true},
		{"DEVICE ABCDEFGHIJ lamp_1\r", "ABCDEFGHIJ", "lamp_1", true},
		{"DEVICE ABCDEFGHIJ", "", "", false},
		{"DEVICE ABCDEFGHIJ lamp_1 extra", "", "", false},
		{"DEVICE short lamp_1", "", "", false},
		{"DEVICE ABCDEFGHIJ bad/name", "", "", false},
		{"device ABCDEFGHIJ lamp_1", "", "", false},
		{"[flow] step: login", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			pid, dn, ok := parseDeviceLine(tt.line)
			if pid != tt.pid || dn != tt.dn || ok != tt.wantParsed {
				t.Errorf("parseDeviceLine(%q) = %q, %q, %v; want %q, %q, %v", tt.line, pid, dn, ok, tt.pid, tt.dn, tt.wantParsed)
			}
		})
	}
}

func FuzzParseDeviceLine(f *testing.F) {
	f.Add("DEVICE ABCDEFGHIJ lamp_1")
	f.Add("DEVICE  ABCDEFGHIJ\tlamp_1 ")
	f.Add("READY")
	f.Fuzz(func(t *testing.T, line string) {
		pid, dn, ok := parseDeviceLine(line)
		if !ok {
			if pid != "" || dn != "" {
				t.Fatalf("rejected line %q returned %q %q", line, pid, dn)
			}
			return
		}
		if !strings.Contains(line, pid) || !strings.Contains(line, dn) || strings.ContainsAny(pid+dn, " \t\r\n") {
			t.Fatalf("parseDeviceLine(%q) = %q, %q", line, pid, dn)
		}
	})
}
