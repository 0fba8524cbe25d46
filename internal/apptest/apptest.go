// Package apptest starts a real Thingo node inside a test: the same
// composition root as `thingo serve`, every listener on 127.0.0.1 with a
// random port, a temporary data directory, logs in the test log.
package apptest

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/apiclient"
	"github.com/thingo-iot/thingo/internal/app"
	"github.com/thingo-iot/thingo/internal/config"
)

// Node is a running node and a management API client with its admin
// credential.
type Node struct {
	App     *app.App
	API     *apiclient.Client
	DataDir string

	t      testing.TB
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// Start starts a node on dataDir (t.TempDir() when empty) and waits until it
// serves. extra are more `thingo serve` flags; they override the loopback
// defaults (e.g. "--mqtts-addr", "off"). The node stops at the end of the
// test, or earlier with Stop. Set THINGO_TEST_LOG to see its debug logs.
func Start(t testing.TB, dataDir string, extra ...string) *Node {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	args := []string{
		"--data", dataDir,
		"--mqtt-addr", "127.0.0.1:0", "--mqtts-addr", "127.0.0.1:0",
		"--ws-addr", "127.0.0.1:0", "--wss-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
	}
	// Only the flags count: the environment of the test run must not change
	// the node (THINGO_* variables of a developer's shell).
	cfg, err := config.Load(append(args, extra...), func(string) string { return "" })
	if err != nil {
		t.Fatalf("apptest: config: %v", err)
	}
	level := slog.LevelWarn
	if os.Getenv("THINGO_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("apptest: app.New: %v", err)
	}
	n := &Node{App: a, DataDir: dataDir, t: t, cancel: cancel, done: make(chan error, 1)}
	go func() { n.done <- a.Run(ctx) }()
	t.Cleanup(n.Stop)
	select {
	case <-a.Ready():
	case err := <-n.done:
		t.Fatalf("apptest: node stopped during startup: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("apptest: node not ready after 30s")
	}
	cred := a.AdminCredential()
	n.API = &apiclient.Client{URL: "http://" + a.HTTPAddr().String(), SecretID: cred.SecretID, SecretKey: cred.SecretKey}
	return n
}

// Stop shuts the node down gracefully and waits for it; it is idempotent.
func (n *Node) Stop() {
	n.once.Do(func() {
		n.cancel()
		select {
		case err := <-n.done:
			if err != nil {
				n.t.Errorf("apptest: node stopped with error: %v", err)
			}
		case <-time.After(30 * time.Second):
			n.t.Error("apptest: node did not stop within 30s")
		}
	})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
