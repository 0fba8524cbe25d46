package codegen

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/thingo-iot/thingo/internal/thingmodel"
)

// FuzzGenerate checks that every model thingmodel accepts generates
// well-formed Go (Generate runs go/format over its output).
func FuzzGenerate(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.json")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"properties":[{"id":"m","mode":"r","define":{"type":"stringenum","mapping":{"a b":"x","\"":"y"}}}],"events":[{"id":"k","type":"info","params":[{"id":"1","define":{"type":"timestamp"}}]}],"actions":[{"id":"v","input":[],"output":[{"id":"e","define":{"type":"array","arrayInfo":{"type":"struct","specs":[{"id":"_","dataType":{"type":"enum","mapping":{"-1":"\n"}}}]}}}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := thingmodel.Parse(data)
		if err != nil {
			return
		}
		if _, err := Generate(m, Options{Package: "fuzz"}); err != nil {
			t.Fatalf("Generate: %v", err)
		}
	})
}
