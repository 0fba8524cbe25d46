package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestGatewaySearchTypeAndDelete covers the platform side of a gateway:
// SearchGatewaySubDevices, DeviceType of sub-devices, and deleting a
// sub-device online through its gateway.
func TestGatewaySearchTypeAndDelete(t *testing.T) {
	s := startServer(t, t.TempDir())
	gwPID := s.newTypedProduct(5)
	subPID := s.newTypedProduct(0)
	plainPID := s.newTypedProduct(0)
	gw := s.newDevice(gwPID, "gw1")
	sub1 := s.newDevice(subPID, "sub1")
	sub2 := s.newDevice(subPID, "sub2")
	s.newDevice(plainPID, "lamp")
	s.mustCall("BindProducts", map[string]any{"GatewayProductId": gwPID, "ProductIds": []string{subPID}}, nil)

	search := map[string]any{"GatewayProductId": gwPID, "GatewayDeviceName": "gw1", "Status": 1}
	if code := apiCode(s.call("SearchGatewaySubDevices", search, nil)); code != "FailedOperation.DeviceOffline" {
		t.Errorf("search with the gateway offline: code %q", code)
	}
	s.mustCall("BindDevices", map[string]any{"GatewayProductId": gwPID, "GatewayDeviceName": "gw1",
		"ProductId": subPID, "DeviceNames": []string{"sub1", "sub2"}}, nil)

	c := mustConnect(t, s.keyOpts(gw, "tcp"))
	in := gwInbox{ch: make(chan mqtt.Message, 64)}
	result := "$gateway/operation/result/" + gwPID + "/gw1"
	if tok := c.Subscribe(result, 1, in.handler); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal("subscribe result topic")
	}

	// search_devices reaches the online gateway; bad calls are refused.
	s.mustCall("SearchGatewaySubDevices", search, nil)
	if got := in.next(t, result, `"search_devices"`); got != `{"type":"search_devices","payload":{"status":1}}` {
		t.Errorf("search_devices = %s", got)
	}
	for _, tc := range []struct {
		name string
		req  map[string]any
		code string
	}{
		{"bad status", map[string]any{"GatewayProductId": gwPID, "GatewayDeviceName": "gw1", "Status": 3}, "InvalidParameterValue"},
		{"not a gateway", map[string]any{"GatewayProductId": plainPID, "GatewayDeviceName": "lamp", "Status": 1}, "InvalidParameterValue.DeviceIsNotGateway"},
		{"no status", map[string]any{"GatewayProductId": gwPID, "GatewayDeviceName": "gw1"}, "MissingParameter"},
	} {
		if code := apiCode(s.call("SearchGatewaySubDevices", tc.req, nil)); code != tc.code {
			t.Errorf("%s: code %q, want %q", tc.name, code, tc.code)
		}
	}

	// DeviceType: gateway, sub-device (bound), device.
	types := []struct{ pid, dn, want string }{
		{gwPID, "gw1", "gateway"}, {subPID, "sub1", "sub-device"}, {plainPID, "lamp", "device"},
	}
	for _, tc := range types {
		var desc struct{ Device struct{ DeviceType string } }
		s.mustCall("DescribeDevice", map[string]any{"ProductId": tc.pid, "DeviceName": tc.dn}, &desc)
		if desc.Device.DeviceType != tc.want {
			t.Errorf("DescribeDevice %s: DeviceType %q, want %q", tc.dn, desc.Device.DeviceType, tc.want)
		}
		var list struct {
			Devices []struct{ DeviceName, DeviceType string }
		}
		s.mustCall("GetDeviceList", map[string]any{"ProductId": tc.pid, "Limit": 10}, &list)
		for _, d := range list.Devices {
			if d.DeviceType != tc.want {
				t.Errorf("GetDeviceList %s: DeviceType %q, want %q", d.DeviceName, d.DeviceType, tc.want)
			}
		}
	}

	// Both sub-devices online; the gateway may use sub1's topics.
	publish := func(topic string, payload []byte) {
		t.Helper()
		if tok := c.Publish(topic, 0, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	publish("$gateway/operation/"+gwPID+"/gw1", gwRequest("online", subRef(sub1), subRef(sub2)))
	if got := in.next(t, result, `"online"`); strings.Count(got, `"result":0`) != 2 {
		t.Fatalf("online reply = %s", got)
	}
	suback := func(topic string) byte {
		t.Helper()
		tok := c.Subscribe(topic, 1, in.handler)
		if !tok.WaitTimeout(10 * time.Second) {
			t.Fatalf("subscribe %s: no SUBACK", topic)
		}
		return tok.(*mqtt.SubscribeToken).Result()[topic]
	}
	down1 := "$thing/down/property/" + subPID + "/sub1"
	if got := suback(down1); got != 1 {
		t.Fatalf("SUBACK for online sub1 = 0x%02x", got)
	}

	// Deleting sub1 tells the gateway (change, status 0) and takes sub1 out
	// of the gateway's online set at once.
	s.mustCall("DeleteDevice", map[string]any{"ProductId": subPID, "DeviceName": "sub1"}, nil)
	want := fmt.Sprintf(`{"type":"change","payload":{"status":0,"devices":[{"product_id":"%s","device_name":"sub1"}]}}`, subPID)
	if got := in.next(t, result, `"change"`); got != want {
		t.Errorf("change = %s, want %s", got, want)
	}
	if got := suback("$thing/down/event/" + subPID + "/sub1"); got != 0x80 {
		t.Errorf("SUBACK for deleted sub1 = 0x%02x, want 0x80", got)
	}
	if got := suback("$thing/down/event/" + subPID + "/sub2"); got != 1 {
		t.Errorf("SUBACK for sub2 = 0x%02x, want 1", got)
	}
	if !c.IsConnected() {
		t.Error("the gateway was disconnected by the deletion of its sub-device")
	}
	var sd struct{ Total int64 }
	s.mustCall("DescribeGatewaySubDeviceList", map[string]any{"GatewayProductId": gwPID, "GatewayDeviceName": "gw1"}, &sd)
	if sd.Total != 1 {
		t.Errorf("sub-devices after delete = %d, want 1", sd.Total)
	}
}
