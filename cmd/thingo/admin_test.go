package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestQuickStart follows the README: admin commands create a project, a
// product and a device on a running node, `thingo sign` signs the device's
// credentials, and an MQTT client connects with them.
func TestQuickStart(t *testing.T) {
	node := startNode(t)
	a, cli := node.app, node.cli
	env := func(string) string { return "" }
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
	got := make(chan string, 1)
	topic := "$thing/down/property/" + product + "/lamp01"
	if tok := c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	cli("admin", "publish", "--product", product, "--name", "lamp01", "--topic", topic, "--payload", "hello")
	select {
	case p := <-got:
		if p != "hello" {
			t.Fatalf("received %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("`thingo admin publish` did not reach the device")
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
