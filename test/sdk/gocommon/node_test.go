package gocommon

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/api/apitest"
)

// TestNodeSDK runs test/sdk/node (tencentcloud-sdk-nodejs 4.1.313) against
// an in-process server. Install it first: (cd test/sdk/node && npm install).
func TestNodeSDK(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "tencentcloud-sdk-nodejs")); err != nil {
		t.Skip("test/sdk/node/node_modules missing: run `npm install` in test/sdk/node to enable the Node SDK test")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH")
	}
	s := newServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"THINGO_API_ENDPOINT="+s.Host,
		"THINGO_SECRET_ID="+apitest.SecretID,
		"THINGO_SECRET_KEY="+apitest.SecretKey,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
