package main

import (
	"slices"
	"testing"
)

func TestTunedEnviron(t *testing.T) {
	tests := []struct {
		name   string
		env    []string
		want   []string
		reexec bool
	}{
		{"no GODEBUG", []string{"HOME=/root"}, []string{"HOME=/root", "GODEBUG=adaptivestackstart=0"}, true},
		{"empty GODEBUG", []string{"GODEBUG=", "A=1"}, []string{"GODEBUG=adaptivestackstart=0", "A=1"}, true},
		{"other settings kept", []string{"GODEBUG=gctrace=1"}, []string{"GODEBUG=gctrace=1,adaptivestackstart=0"}, true},
		{"already tuned", []string{"GODEBUG=adaptivestackstart=0"}, []string{"GODEBUG=adaptivestackstart=0"}, false},
		{"opted out", []string{"GODEBUG=gctrace=1, adaptivestackstart=1"}, []string{"GODEBUG=gctrace=1, adaptivestackstart=1"}, false},
		{"prefix is not the setting", []string{"XGODEBUG=adaptivestackstart=1"}, []string{"XGODEBUG=adaptivestackstart=1", "GODEBUG=adaptivestackstart=0"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, reexec := tunedEnviron(tc.env)
			if reexec != tc.reexec || !slices.Equal(got, tc.want) {
				t.Errorf("tunedEnviron(%q) = %q, %v; want %q, %v", tc.env, got, reexec, tc.want, tc.reexec)
			}
		})
	}
}
