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

// TestAdminRemoteConfigAndTWecall drives `thingo admin remote-config` and
// `thingo admin twecall-pool` against a running node.
func TestAdminRemoteConfigAndTWecall(t *testing.T) {
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

	api := "http://" + a.HTTPAddr().String()
	cli := func(args ...string) (map[string]any, int, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		args = append(args, "--api", api, "--data", data)
		code := run(context.Background(), args, &out, &errOut, func(string) string { return "" })
		var m map[string]any
		if code == 0 {
			if err := json.Unmarshal(out.Bytes(), &m); err != nil {
				t.Fatalf("thingo %s: output is not JSON: %s", args[1], out.String())
			}
		}
		return m, code, errOut.String()
	}
	must := func(args ...string) map[string]any {
		t.Helper()
		m, code, stderr := cli(args...)
		if code != 0 {
			t.Fatalf("thingo %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
		return m
	}
	project := must("admin", "create-project", "--name", "demo")["Project"].(map[string]any)["ProjectId"].(string)
	product := must("admin", "create-product", "--project", project, "--name", "bell")["Product"].(map[string]any)["ProductId"].(string)

	tests := []struct {
		name   string
		args   []string
		code   int
		output string // substring of the JSON output or of stderr
	}{
		{"show missing", []string{"remote-config", "--product", product}, 1, "RemoteConfigNotExist"},
		{"set", []string{"remote-config", "--product", product, "--enable", "--payload", `{"a":1}`}, 0, `"Enabled":true`},
		{"show", []string{"remote-config", "--product", product}, 0, `{\"a\":1}`},
		{"push", []string{"remote-config", "--product", product, "--push"}, 0, `"DeviceCount":0`},
		{"both flags", []string{"remote-config", "--product", product, "--enable", "--disable"}, 2, "exclude"},
		{"delete", []string{"remote-config", "--product", product, "--delete"}, 0, `"RequestId"`},
		{"pools empty", []string{"twecall-pool", "--product", product}, 0, `"Pools":[]`},
		{"set pool", []string{"twecall-pool", "--product", product, "--pkg-type", "2", "--total", "10"}, 0, `"RequestId"`},
		{"pools", []string{"twecall-pool", "--product", product}, 0, `"Total":10`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, code, stderr := cli(append([]string{"admin"}, tc.args...)...)
			b, _ := json.Marshal(m)
			if code != tc.code || !strings.Contains(string(b)+stderr, tc.output) {
				t.Errorf("exit %d, output %s %s; want exit %d with %s", code, b, stderr, tc.code, tc.output)
			}
		})
	}
}
