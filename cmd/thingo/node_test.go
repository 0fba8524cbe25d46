package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/thingo-iot/thingo/internal/app"
	"github.com/thingo-iot/thingo/internal/apptest"
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
	n := apptest.Start(t, "", "--mqtts-addr", "off", "--ws-addr", "off", "--wss-addr", "off")
	return &testNode{t: t, app: n.App, data: n.DataDir, api: n.API.URL}
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
