package codegen

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/thingo-iot/thingo/internal/thingmodel"
)

var update = flag.Bool("update", false, "rewrite the golden files and examples/lightgen")

func generateFile(t *testing.T, path, pkg, source string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := thingmodel.Parse(data)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	out, err := Generate(m, Options{Package: pkg, Source: source})
	if err != nil {
		t.Fatalf("generate %s: %v", path, err)
	}
	return out
}

func checkGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/codegen -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date: run go test ./internal/codegen -update", golden)
	}
}

func TestGolden(t *testing.T) {
	models, err := filepath.Glob("testdata/*.json")
	if err != nil || len(models) == 0 {
		t.Fatalf("no models: %v", err)
	}
	for _, path := range models {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			got := generateFile(t, path, "model", filepath.Base(path))
			if !bytes.HasPrefix(got, []byte(Header+"\n")) {
				t.Errorf("output does not start with the generated-code header")
			}
			again := generateFile(t, path, "model", filepath.Base(path))
			if !bytes.Equal(got, again) {
				t.Errorf("output is not deterministic")
			}
			checkGolden(t, filepath.Join("testdata", name+".golden"), got)
		})
	}
}

// TestLightgenUpToDate keeps examples/lightgen (compiled by go build ./...)
// in step with the generator.
func TestLightgenUpToDate(t *testing.T) {
	got := generateFile(t, "testdata/c_sdk_example_config.json", "lightgen", "c_sdk_example_config.json")
	checkGolden(t, "../../examples/lightgen/light_gen.go", got)
}

func TestGenerateBadPackage(t *testing.T) {
	m, err := thingmodel.Parse([]byte(`{"version":"1.0","profile":{"ProductId":"ABCDEFGHIJ"},"properties":[],"events":[],"actions":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"", "1x", "a-b", "_"} {
		if _, err := Generate(m, Options{Package: pkg}); err == nil {
			t.Errorf("package %q: no error", pkg)
		}
	}
}

func TestGoName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"power_switch", "PowerSwitch"},
		{"arrInt", "ArrInt"},
		{"struct", "Struct"},
		{"1abc", "X1abc"},
		{"a-b.c", "ABC"},
		{"亮度", "X"},
	}
	for _, tt := range tests {
		if got := goName(tt.in); got != tt.want {
			t.Errorf("goName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
