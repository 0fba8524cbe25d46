package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/thingo-iot/thingo/internal/app"
	"github.com/thingo-iot/thingo/internal/config"
)

// testNode is a node running in the test process (loopback, random ports,
// TCP MQTT and HTTP only) and the CLI pointed at it.
type testNode struct {
	t    *testing.T
	app  *app.App
	data string
	api  string
}

func startNode(t *testing.T) *testNode {
	t.Helper()
	data := t.TempDir()
	cfg, err := config.Load([]string{"--data", data, "--mqtt-addr", "127.0.0.1:0", "--mqtts-addr", "off",
		"--ws-addr", "off", "--wss-addr", "off", "--http-addr", "127.0.0.1:0"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	<-a.Ready()
	return &testNode{t: t, app: a, data: data, api: "http://" + a.HTTPAddr().String()}
}

// try runs a `thingo admin` command against the node and returns its
// decoded JSON output (on exit 0), exit status and standard error.
func (n *testNode) try(args ...string) (map[string]any, int, string) {
	n.t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--api", n.api, "--data", n.data)
	code := run(context.Background(), args, &out, &errOut, func(string) string { return "" })
	var m map[string]any
	if code == 0 {
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			n.t.Fatalf("thingo %s: output is not JSON: %s", args[1], out.String())
		}
	}
	return m, code, errOut.String()
}

// cli is try for a command that must succeed.
func (n *testNode) cli(args ...string) map[string]any {
	n.t.Helper()
	m, code, stderr := n.try(args...)
	if code != 0 {
		n.t.Fatalf("thingo %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	return m
}
