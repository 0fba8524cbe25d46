package main

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		stat string
		want time.Duration
		ok   bool
	}{
		{"1234 (thingo) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 0 0", 3 * time.Second, true},
		{"7 (a b) c)) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0", 30 * time.Millisecond, true},
		{"7 (short) R 1 2 3", 0, false},
		{"no command name", 0, false},
		{"7 (x) R 1 7 7 0 -1 0 0 0 0 0 x 2 0 0", 0, false},
	}
	for _, tc := range tests {
		got, err := parseStatCPU(tc.stat)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseStatCPU(%q) = %v, %v; want %v, ok %v", tc.stat, got, err, tc.want, tc.ok)
		}
	}
}

func TestSampleCPUOfThisProcess(t *testing.T) {
	a := sampleCPU(os.Getpid())
	deadline := time.Now().Add(300 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	d := sampleCPU(os.Getpid()).sub(a)
	if !d.ok || d.self <= 0 || d.server < 0 {
		t.Fatalf("CPU over a busy loop: %+v", d)
	}
}
