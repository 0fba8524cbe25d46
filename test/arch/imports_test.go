// Package arch checks the import rules of ARCHITECTURE.md: imports point one
// way (cmd -> app -> domain <- adapters), domain packages import no adapter,
// and the public packages (protocol/, sdk/) import nothing internal.
package arch

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/thingo-iot/thingo"

type pkg struct {
	ImportPath string
	Imports    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", module+"/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestImportRules(t *testing.T) {
	domain := []string{"internal/registry", "internal/devauth", "internal/thingmodel", "internal/devicedata",
		"internal/ota", "internal/gateway", "internal/shadow", "internal/rrpc", "internal/broadcast",
		"internal/remoteconfig", "internal/twecall", "internal/devicelog", "internal/dynreg"}
	adapters := []string{"internal/store", "internal/bus", "internal/broker", "internal/api", "internal/app",
		"github.com/mochi-mqtt", "github.com/nats-io", "modernc.org/sqlite", "github.com/jackc/pgx", "net/http"}
	public := []string{"protocol", "sdk"}

	has := func(path string, prefixes []string) bool {
		for _, p := range prefixes {
			full := p
			if strings.HasPrefix(p, "internal/") || p == "protocol" || p == "sdk" {
				full = module + "/" + p
			}
			if path == full || strings.HasPrefix(path, full+"/") {
				return true
			}
		}
		return false
	}
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			if has(p.ImportPath, domain) && has(imp, adapters) {
				t.Errorf("domain package %s imports adapter %s", p.ImportPath, imp)
			}
			if has(p.ImportPath, public) && strings.HasPrefix(imp, module+"/internal/") {
				t.Errorf("public package %s imports %s", p.ImportPath, imp)
			}
		}
	}
}
