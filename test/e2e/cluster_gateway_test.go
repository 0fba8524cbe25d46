package e2e

import (
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestClusterSubDeviceDownlink: a sub-device is online through a gateway
// connected to node B; ControlDeviceData and PublishMessage sent through
// node A reach it on the gateway's connection. Once it goes offline, A
// answers offline again.
func TestClusterSubDeviceDownlink(t *testing.T) {
	a, b := startCluster(t)
	gwPID := a.newTypedProduct(5)
	subPID := a.newTypedProduct(0)
	a.defineExampleModel(subPID)
	a.mustCall("BindProducts", map[string]any{"GatewayProductId": gwPID, "ProductIds": []string{subPID}}, nil)
	gw := a.newDevice(gwPID, "gw1")
	sub := a.newDevice(subPID, "sub1")

	c := mustConnect(t, b.keyOpts(gw, "tcp"))
	in := gwInbox{ch: make(chan mqtt.Message, 64)}
	result := "$gateway/operation/result/" + gwPID + "/gw1"
	down := "$thing/down/property/" + subPID + "/sub1"
	subscribe := func(topic string) {
		t.Helper()
		tok := c.Subscribe(topic, 1, in.handler)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe %s: %v", topic, tok.Error())
		}
		if got := tok.(*mqtt.SubscribeToken).Result()[topic]; got != 1 {
			t.Fatalf("SUBACK %s = 0x%02x", topic, got)
		}
	}
	subscribe(result)
	operate := func(typ string, dev map[string]any) {
		t.Helper()
		op := "$gateway/operation/" + gwPID + "/gw1"
		if tok := c.Publish(op, 1, false, gwRequest(typ, dev)); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", typ, tok.Error())
		}
		if got := in.next(t, result, `"`+typ+`"`); !strings.Contains(got, `"result":0`) {
			t.Fatalf("%s = %s", typ, got)
		}
	}
	operate("bind", signedBind(sub, sub.PSK))
	operate("online", subRef(sub))
	subscribe(down) // granted while the sub-device is online
	waitStatus(t, a, sub, 1)

	with := func(kv ...any) map[string]any {
		m := map[string]any{"ProductId": subPID, "DeviceName": "sub1"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	var ctl struct{ Result string }
	a.mustCall("ControlDeviceData", with("Data", `{"brightness":33}`), &ctl)
	if !strings.Contains(ctl.Result, `"Sent":1`) {
		t.Errorf("ControlDeviceData Result = %s, want Sent 1", ctl.Result)
	}
	if got := in.next(t, down, `"control"`); !strings.Contains(got, `"brightness":33`) {
		t.Errorf("control = %s", got)
	}
	a.mustCall("PublishMessage", with("Topic", down, "Payload", `{"method":"control","clientToken":"pm-sub","params":{}}`, "Qos", 1), nil)
	in.next(t, down, `"pm-sub"`)

	operate("offline", subRef(sub))
	waitStatus(t, a, sub, 0)
	if err := a.call("PublishMessage", with("Topic", down, "Payload", `{"method":"control","clientToken":"pm-off","params":{}}`, "Qos", 1), nil); err == nil {
		t.Error("PublishMessage to a sub-device gone offline: no error")
	}
}
