package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestSimCommandErrors(t *testing.T) {
	model := "../../internal/codegen/testdata/c_sdk_example_config.json"
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no model", nil, 2, "Usage"},
		{"bad rate", []string{"-model", model, "-rate", "0"}, 2, "must be > 0"},
		{"remote broker", []string{"-model", model, "-broker", "tcp://10.1.2.3:1883"}, 2, "not a loopback"},
		{"remote api", []string{"-model", model, "-api", "http://example.com"}, 2, "not a loopback"},
		{"no model file", []string{"-model", "nope.json"}, 1, "nope.json"},
		{"bad creds", []string{"-model", model, "-creds", "nope.json"}, 1, "nope.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := run(context.Background(), append([]string{"sim"}, tt.args...), &stdout, &stderr, func(string) string { return "" })
			if got != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", got, tt.code, stderr.String(), tt.want)
			}
		})
	}
}

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"tcp://127.0.0.1:1883", true},
		{"ws://localhost:8081/mqtt", true},
		{"http://[::1]:8080", true},
		{"tcp://127.3.4.5:1", true},
		{"tcp://192.168.1.1:1883", false},
		{"tcp://broker.example.com:1883", false},
	}
	for _, tt := range tests {
		if err := checkLoopback(tt.url); (err == nil) != tt.ok {
			t.Errorf("checkLoopback(%q) = %v, want ok %v", tt.url, err, tt.ok)
		}
	}
}
