package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestAdminGatewaySearch drives `thingo admin gateway search` against a
// running node: the gateway receives search_devices on its result topic.
func TestAdminGatewaySearch(t *testing.T) {
	node := startNode(t)
	cli := node.cli
	project := cli("admin", "create-project", "--name", "demo")["Project"].(map[string]any)["ProjectId"].(string)
	gwProduct := cli("admin", "create-product", "--project", project, "--name", "hub", "--gateway")["Product"].(map[string]any)["ProductId"].(string)
	plain := cli("admin", "create-product", "--project", project, "--name", "lamp")["Product"].(map[string]any)["ProductId"].(string)
	psk := cli("admin", "create-device", "--product", gwProduct, "--name", "gw01")["Data"].(map[string]any)["DevicePsk"].(string)
	cli("admin", "create-device", "--product", plain, "--name", "lamp01")

	search := func(args ...string) []string {
		return append([]string{"admin", "gateway", "search"}, args...)
	}
	before := []struct {
		name   string
		args   []string
		code   int
		output string
	}{
		{"gateway offline", search("--product", gwProduct, "--name", "gw01"), 1, "DeviceOffline"},
		{"bad status", search("--product", gwProduct, "--name", "gw01", "--status", "2"), 1, "InvalidParameterValue"},
		{"not a gateway", search("--product", plain, "--name", "lamp01"), 1, "DeviceIsNotGateway"},
		{"no subcommand", []string{"admin", "gateway"}, 2, "search"},
	}
	for _, tc := range before {
		t.Run(tc.name, func(t *testing.T) {
			_, code, stderr := node.try(tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.output) {
				t.Errorf("exit %d, stderr %q; want exit %d with %q", code, stderr, tc.code, tc.output)
			}
		})
	}

	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"sign", "--product", gwProduct, "--device", "gw01", "--secret", psk},
		&out, &errOut, func(string) string { return "" }); code != 0 {
		t.Fatalf("sign: %s", errOut.String())
	}
	fields := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		k, v, _ := strings.Cut(line, ":")
		fields[k] = strings.TrimSpace(v)
	}
	o := mqtt.NewClientOptions().AddBroker("tcp://" + node.app.MQTTAddr("tcp").String()).
		SetClientID(fields["client id"]).SetUsername(fields["username"]).SetPassword(fields["password"]).
		SetAutoReconnect(false)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(50)
	got := make(chan string, 4)
	topic := "$gateway/operation/result/" + gwProduct + "/gw01"
	if tok := c.Subscribe(topic, 0, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	for _, tc := range []struct{ status, want string }{
		{"1", `{"type":"search_devices","payload":{"status":1}}`},
		{"0", `{"type":"search_devices","payload":{"status":0}}`},
	} {
		cli(search("--product", gwProduct, "--name", "gw01", "--status", tc.status)...)
		select {
		case p := <-got:
			if p != tc.want {
				t.Errorf("status %s: gateway received %s, want %s", tc.status, p, tc.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("status %s: search_devices did not reach the gateway", tc.status)
		}
	}
}
