package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestCodegenCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "light_gen.go")
	model := "../../internal/codegen/testdata/c_sdk_example_config.json"
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"ok", []string{"-model", model, "-package", "lightgen", "-o", out}, 0},
		{"missing package", []string{"-model", model}, 2},
		{"bad package", []string{"-model", model, "-package", "1x"}, 2},
		{"no such model", []string{"-model", "nope.json", "-package", "x"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(context.Background(), append([]string{"codegen"}, tt.args...), &stdout, &stderr, func(string) string { return "" }); got != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", got, tt.code, stderr.String())
			}
		})
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../examples/lightgen/light_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("thingo codegen output differs from examples/lightgen/light_gen.go")
	}
}
