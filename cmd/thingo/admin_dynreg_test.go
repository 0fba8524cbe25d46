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

// TestAdminDynregAndDeviceLogs drives `thingo admin dynreg` and
// `thingo admin device-logs` against a running node.
func TestAdminDynregAndDeviceLogs(t *testing.T) {
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
	cli := func(args ...string) map[string]any {
		t.Helper()
		var out, errOut bytes.Buffer
		args = append(args, "--api", api, "--data", data)
		if code := run(context.Background(), args, &out, &errOut, func(string) string { return "" }); code != 0 {
			t.Fatalf("thingo %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
		}
		var m map[string]any
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatalf("thingo %s: output is not JSON: %s", args[1], out.String())
		}
		return m
	}
	project := cli("admin", "create-project", "--name", "demo")["Project"].(map[string]any)["ProjectId"].(string)
	product := cli("admin", "create-product", "--project", project, "--name", "lamp")["Product"].(map[string]any)["ProductId"].(string)
	cli("admin", "create-device", "--product", product, "--name", "dev1")

	shown := cli("admin", "dynreg", "--product", product)
	secret, _ := shown["ProductSecret"].(string)
	if len(secret) < 24 || shown["RegisterType"] != float64(0) {
		t.Fatalf("dynreg shows %v", shown)
	}
	set := cli("admin", "dynreg", "--product", product, "--type", "2", "--limit", "5")
	if set["RegisterType"] != float64(2) || set["RegisterLimit"] != float64(5) || set["ProductSecret"] != secret {
		t.Errorf("dynreg set %v", set)
	}
	logs := cli("admin", "device-logs", "--product", product, "--name", "dev1")
	if logs["Total"] != float64(0) {
		t.Errorf("device-logs %v", logs)
	}
}
