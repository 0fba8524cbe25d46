package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/protocol"
	"github.com/thingo-iot/thingo/sdk"
)

var (
	gwUp   = protocol.FamilyTopic(protocol.FamilyGateway, protocol.Up, testPID, testDN)
	gwDown = protocol.FamilyTopic(protocol.FamilyGateway, protocol.Down, testPID, testDN)
)

// gatewayResponder answers gateway requests: online refuses sub-devices
// named "bad*" with -1 and answers a stale reply of another request first;
// describe_sub_devices lists one device; unbind is refused as a whole.
func gatewayResponder(topic string, payload []byte) (string, []byte, bool) {
	if topic != gwUp {
		return "", nil, false
	}
	var req struct {
		Type    string `json:"type"`
		Payload struct {
			Devices []map[string]any `json:"devices"`
		} `json:"payload"`
	}
	if json.Unmarshal(payload, &req) != nil {
		return "", nil, false
	}
	var reply any
	switch req.Type {
	case "online", "offline", "bind":
		for _, d := range req.Payload.Devices {
			d["result"] = 0
			if strings.HasPrefix(d["device_name"].(string), "bad") {
				d["result"] = -1
			}
			delete(d, "signature")
		}
		reply = map[string]any{"type": req.Type, "payload": map[string]any{"devices": req.Payload.Devices}}
	case "describe_sub_devices":
		reply = map[string]any{"type": req.Type, "payload": map[string]any{"devices": []map[string]any{{"product_id": "SUBPID0001", "device_name": "s1"}}}}
	case "unbind":
		reply = map[string]any{"type": req.Type, "result": 801, "payload": map[string]any{"devices": []any{}}}
	default:
		return "", nil, false
	}
	b, _ := json.Marshal(reply)
	return gwDown, b, true
}

func TestGatewayOperations(t *testing.T) {
	b := startBroker(t)
	b.setResponder(gatewayResponder)
	c := newClient(t, b.url(), func(cfg *sdk.Config) { cfg.RequestTimeout = 2 * time.Second })
	g := c.Gateway()
	searches := make(chan bool, 1)
	g.OnSearchDevices(func(_ context.Context, start bool) int {
		searches <- start
		return 0
	})
	mustConnect(t, c)
	ctx := context.Background()

	// A stale reply of another request is skipped.
	stale, _ := json.Marshal(map[string]any{"type": "online", "payload": map[string]any{"devices": []map[string]any{{"product_id": "OTHER00001", "device_name": "x", "result": 0}}}})
	if err := b.srv.Publish(gwDown, stale, false, 1); err != nil {
		t.Fatal(err)
	}
	subs := []sdk.SubDevice{{ProductID: "SUBPID0001", DeviceName: "s1"}, {ProductID: "SUBPID0001", DeviceName: "bad1"}}
	for i := range 9 { // 11 devices: two requests
		subs = append(subs, sdk.SubDevice{ProductID: "SUBPID0001", DeviceName: "n" + string(rune('a'+i))})
	}
	err := g.Online(ctx, subs...)
	var re *sdk.GatewayResultError
	if !errors.As(err, &re) || re.Code != sdk.GatewayResultNotBound || re.SubDevice.DeviceName != "bad1" {
		t.Fatalf("Online = %v, want result -1 for bad1", err)
	}
	if !g.SubDevice("SUBPID0001", "s1").IsOnline() || g.SubDevice("SUBPID0001", "bad1").IsOnline() ||
		!g.SubDevice("SUBPID0001", "ni").IsOnline() {
		t.Fatal("online states wrong")
	}
	list, err := g.DescribeSubDevices(ctx)
	if err != nil || len(list) != 1 || list[0].DeviceName != "s1" {
		t.Fatalf("DescribeSubDevices = %v, %v", list, err)
	}
	if err := g.UnbindSubDevices(ctx, subs[0]); !errors.As(err, &re) || re.Code != sdk.GatewayResultBadParams {
		t.Fatalf("Unbind = %v, want request refused with 801", err)
	}
	if err := g.BindSubDevices(ctx, sdk.SubDeviceCredentials{ProductID: "SUBPID0001", DeviceName: "s1"}); err == nil {
		t.Fatal("bind without a secret accepted")
	}
	if err := g.BindSubDevices(ctx, sdk.SubDeviceCredentials{ProductID: "SUBPID0001", DeviceName: "s1", CertPEM: []byte("cert")}); err != nil {
		t.Fatal(err)
	}
	p := b.waitUplink(t, gwUp, func(p []byte) bool { return strings.Contains(string(p), `"bind"`) })
	var bind struct {
		Payload struct {
			Devices []struct {
				Signature, AuthType, SignMethod string
				Random, Timestamp               int64
			} `json:"devices"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(p, &bind); err != nil || len(bind.Payload.Devices) != 1 {
		t.Fatalf("bind request %s", p)
	}
	d := bind.Payload.Devices[0]
	want, _ := protocol.SignBind(protocol.CertBindKey([]byte("cert")), protocol.BindText("SUBPID0001", "s1", d.Random, d.Timestamp), "hmacsha256")
	if d.Signature != want || d.AuthType != "certificate" || d.SignMethod != "hmacsha256" {
		t.Fatalf("bind request %s, want signature %s", p, want)
	}

	// Platform pushes are answered.
	for _, tc := range []struct{ push, answer string }{
		{`{"type":"search_devices","payload":{"status":1}}`, `{"payload":{"result":0,"status":1},"type":"search_devices"}`},
		{`{"type":"change","payload":{"status":0,"devices":[{"product_id":"SUBPID0001","device_name":"s1"}]}}`, `{"result":0,"type":"change"}`},
	} {
		if err := b.srv.Publish(gwDown, []byte(tc.push), false, 1); err != nil {
			t.Fatal(err)
		}
		b.waitUplink(t, gwUp, func(p []byte) bool { return string(p) == tc.answer })
	}
	if !<-searches {
		t.Error("search handler got start=false")
	}
	// The unbind change took s1 offline.
	waitFor(t, 5*time.Second, func() error {
		if g.SubDevice("SUBPID0001", "s1").IsOnline() {
			return errors.New("s1 still online")
		}
		return nil
	})
}
