package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/thingo-iot/thingo/internal/app"
	"github.com/thingo-iot/thingo/internal/config"
)

// TestQuickStart follows the README: admin commands create a project, a
// product and a device on a running node, `thingo sign` signs the device's
// credentials, and an MQTT client connects with them.
func TestQuickStart(t *testing.T) {
	data := t.TempDir()
	cfg, err := config.Load([]string{"--data", data, "--mqtt-addr", "127.0.0.1:0", "--mqtts-addr", "off",
		"--ws-addr", "off", "--wss-addr", "off", "--http-addr", "127.0.0.1:0"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
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

	env := func(string) string { return "" }
	api := "http://" + a.HTTPAddr().String()
	cli := func(args ...string) map[string]any {
		t.Helper()
		var out, errOut bytes.Buffer
		args = append(args, "--api", api, "--data", data)
		if code := run(context.Background(), args, &out, &errOut, env); code != 0 {
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
	psk := cli("admin", "create-device", "--product", product, "--name", "lamp01")["Data"].(map[string]any)["DevicePsk"].(string)

	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"sign", "--product", product, "--device", "lamp01", "--secret", psk}, &out, &errOut, env); code != 0 {
		t.Fatalf("sign: %s", errOut.String())
	}
	fields := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		k, v, _ := strings.Cut(line, ":")
		fields[k] = strings.TrimSpace(v)
	}
	o := mqtt.NewClientOptions().AddBroker("tcp://" + a.MQTTAddr("tcp").String()).
		SetClientID(fields["client id"]).SetUsername(fields["username"]).SetPassword(fields["password"]).
		SetAutoReconnect(false)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect with the signed credentials: %v", tok.Error())
	}
	c.Disconnect(50)

	dev := cli("admin", "describe-device", "--product", product, "--name", "lamp01")["Device"].(map[string]any)
	if dev["DeviceName"] != "lamp01" {
		t.Fatalf("describe-device: %v", dev)
	}
	list := cli("admin", "list-devices", "--product", product)
	if list["Total"].(float64) != 1 {
		t.Fatalf("list-devices: %v", list)
	}
}
