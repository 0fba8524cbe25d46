package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/thingo-iot/thingo/protocol"
)

// gwInbox collects the messages a gateway receives, by topic.
type gwInbox struct{ ch chan mqtt.Message }

func (b gwInbox) handler(_ mqtt.Client, m mqtt.Message) { b.ch <- m }

// next returns the next message on topic whose payload contains want.
func (b gwInbox) next(t *testing.T, topic, want string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-b.ch:
			if m.Topic() == topic && strings.Contains(string(m.Payload()), want) {
				return string(m.Payload())
			}
		case <-deadline:
			t.Fatalf("no message on %s containing %s", topic, want)
			return ""
		}
	}
}

func (s *server) newTypedProduct(typ int) string {
	s.t.Helper()
	var pr struct{ Project struct{ ProjectId string } }
	s.mustCall("CreateProject", map[string]any{"ProjectName": "gw", "ProjectDesc": "gateway"}, &pr)
	var prod struct{ Product struct{ ProductId string } }
	s.mustCall("CreateStudioProduct", map[string]any{
		"ProductName": fmt.Sprintf("g%d", time.Now().UnixNano()%1e9), "CategoryId": 1, "ProductType": typ,
		"EncryptionType": "2", "NetType": "wifi", "DataProtocol": 1, "ProductDesc": "e2e",
		"ProjectId": pr.Project.ProjectId,
	}, &prod)
	return prod.Product.ProductId
}

func gwRequest(typ string, devs ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "payload": map[string]any{"devices": devs}})
	return b
}

func subRef(d device) map[string]any {
	return map[string]any{"product_id": d.ProductID, "device_name": d.Name}
}

func signedBind(d device, key string) map[string]any {
	ts := time.Now().Unix()
	sig, _ := protocol.SignBind(key, protocol.BindText(d.ProductID, d.Name, 7, ts), "hmacsha1")
	return map[string]any{"product_id": d.ProductID, "device_name": d.Name, "signature": sig, "random": 7,
		"timestamp": ts, "signmethod": "hmacsha1", "authtype": "psk"}
}

func TestGatewaySubDevices(t *testing.T) {
	s := startServer(t, t.TempDir())
	gwPID := s.newTypedProduct(5)
	subPID := s.newTypedProduct(0)
	s.defineExampleModel(subPID)
	gw := s.newDevice(gwPID, "gw1")
	gw2 := s.newDevice(gwPID, "gw2")
	sub1 := s.newDevice(subPID, "sub1")
	sub2 := s.newDevice(subPID, "sub2")

	// Binding before the product association: 810.
	c := mustConnect(t, s.keyOpts(gw, "tcp"))
	in := gwInbox{ch: make(chan mqtt.Message, 64)}
	result := "$gateway/operation/result/" + gwPID + "/gw1"
	op := "$gateway/operation/" + gwPID + "/gw1"
	if tok := c.Subscribe(result, 1, in.handler); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal("subscribe result topic")
	}
	publish := func(topic string, payload []byte) {
		t.Helper()
		if tok := c.Publish(topic, 0, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	publish(op, gwRequest("bind", signedBind(sub1, sub1.PSK)))
	if got := in.next(t, result, `"bind"`); !strings.Contains(got, `"result":810`) {
		t.Errorf("bind without association: %s", got)
	}
	s.mustCall("BindProducts", map[string]any{"GatewayProductId": gwPID, "ProductIds": []string{subPID}}, nil)

	// Signed bind, then a duplicate and a bad signature in one request.
	publish(op, gwRequest("bind", signedBind(sub1, sub1.PSK)))
	want := fmt.Sprintf(`{"type":"bind","payload":{"devices":[{"product_id":"%s","device_name":"sub1","result":0}]}}`, subPID)
	if got := in.next(t, result, `"bind"`); got != want {
		t.Errorf("bind reply = %s, want %s", got, want)
	}
	publish(op, gwRequest("bind", signedBind(sub1, sub1.PSK), signedBind(sub2, "wrong")))
	if got := in.next(t, result, `"bind"`); !strings.Contains(got, `"sub1","result":809},{"product_id":"`+subPID+`","device_name":"sub2","result":803}`) {
		t.Errorf("bind reply = %s", got)
	}

	// Not online yet: the gateway may not use sub1's topics.
	down := "$thing/down/property/" + subPID + "/sub1"
	tok := c.Subscribe(down, 1, in.handler)
	tok.WaitTimeout(10 * time.Second)
	if got := tok.(*mqtt.SubscribeToken).Result()[down]; got != 0x80 {
		t.Errorf("SUBACK before online = 0x%02x, want 0x80", got)
	}

	publish(op, gwRequest("online", subRef(sub1)))
	if got := in.next(t, result, `"online"`); !strings.Contains(got, `"result":0`) {
		t.Errorf("online reply = %s", got)
	}
	status := func(d device, want int64) {
		t.Helper()
		waitFor(t, 10*time.Second, func() error {
			var desc struct{ Device struct{ Status int64 } }
			s.mustCall("DescribeDevice", map[string]any{"ProductId": d.ProductID, "DeviceName": d.Name}, &desc)
			if desc.Device.Status != want {
				return fmt.Errorf("%s status %d, want %d", d.Name, desc.Device.Status, want)
			}
			return nil
		})
	}
	status(sub1, 1)
	tok = c.Subscribe(down, 1, in.handler)
	tok.WaitTimeout(10 * time.Second)
	if got := tok.(*mqtt.SubscribeToken).Result()[down]; got != 1 {
		t.Fatalf("SUBACK after online = 0x%02x, want 1", got)
	}

	// Another gateway may not act for sub1.
	c2 := mustConnect(t, s.keyOpts(gw2, "tcp"))
	tok = c2.Subscribe(down, 1, in.handler)
	tok.WaitTimeout(10 * time.Second)
	if got := tok.(*mqtt.SubscribeToken).Result()[down]; got != 0x80 {
		t.Errorf("SUBACK for another gateway = 0x%02x, want 0x80", got)
	}
	c2.Publish("$thing/up/property/"+subPID+"/sub1", 1, false,
		[]byte(`{"method":"report","clientToken":"evil","params":{"power_switch":1}}`)).WaitTimeout(10 * time.Second)

	// Proxied report and its reply, then API control through the gateway.
	publish("$thing/up/property/"+subPID+"/sub1", []byte(`{"method":"report","clientToken":"r1","params":{"brightness":12}}`))
	if got := in.next(t, down, `report_reply`); !strings.Contains(got, `"code":0`) {
		t.Errorf("report_reply = %s", got)
	}
	waitFor(t, 10*time.Second, func() error {
		var data struct{ Data string }
		s.mustCall("DescribeDeviceData", map[string]any{"ProductId": subPID, "DeviceName": "sub1"}, &data)
		if !strings.Contains(data.Data, `"brightness":{"Value":12`) || strings.Contains(data.Data, "power_switch") {
			return fmt.Errorf("data = %s", data.Data)
		}
		return nil
	})
	s.mustCall("ControlDeviceData", map[string]any{"ProductId": subPID, "DeviceName": "sub1", "Data": `{"brightness":50}`}, nil)
	in.next(t, down, `"control"`)
	// sub2 (not bound yet, not online) is not reached through the gateway.
	var ctl struct{ Result string }
	s.mustCall("ControlDeviceData", map[string]any{"ProductId": subPID, "DeviceName": "sub2", "Data": `{"brightness":5}`}, &ctl)
	if strings.Contains(ctl.Result, `"Sent":1`) {
		t.Errorf("control of an offline sub-device: %s", ctl.Result)
	}

	// API bind sends change; the lists see both.
	s.mustCall("BindDevices", map[string]any{"GatewayProductId": gwPID, "GatewayDeviceName": "gw1", "ProductId": subPID,
		"DeviceNames": []string{"sub2"}}, nil)
	if got := in.next(t, result, `"change"`); !strings.Contains(got, `"status":1`) || !strings.Contains(got, `"sub2"`) {
		t.Errorf("change = %s", got)
	}
	var list struct {
		Total      int64
		DeviceList struct{ ProductId, DeviceName string }
	}
	s.mustCall("GetGatewaySubDeviceList", map[string]any{"GatewayProductId": gwPID, "GatewayDeviceName": "gw1", "Offset": 0, "Limit": 10}, &list)
	if list.Total != 2 || list.DeviceList.DeviceName != "sub1" {
		t.Errorf("GetGatewaySubDeviceList = %+v", list)
	}
	var bound struct{ GatewayProductId, GatewayDeviceName string }
	s.mustCall("DescribeDeviceBindGateway", map[string]any{"ProductId": subPID, "DeviceName": "sub2"}, &bound)
	if bound.GatewayProductId != gwPID || bound.GatewayDeviceName != "gw1" {
		t.Errorf("DescribeDeviceBindGateway = %+v", bound)
	}
	if err := s.call("BindDevices", map[string]any{"GatewayProductId": gwPID, "GatewayDeviceName": "gw2", "ProductId": subPID,
		"DeviceNames": []string{"sub2"}}, nil); apiCode(err) != "FailedOperation.DeviceAlreadyBindGateway" {
		t.Errorf("bind to a second gateway: %v", err)
	}
	publish(op, []byte(`{"type":"describe_sub_devices"}`))
	if got := in.next(t, result, `"describe_sub_devices"`); !strings.Contains(got, `"sub1"`) || !strings.Contains(got, `"sub2"`) {
		t.Errorf("describe = %s", got)
	}

	// offline, online again, then the gateway disconnects: sub1 offline.
	publish(op, gwRequest("offline", subRef(sub1)))
	in.next(t, result, `"offline"`)
	status(sub1, 0)
	publish(op, gwRequest("online", subRef(sub1), subRef(sub2)))
	if got := in.next(t, result, `"online"`); strings.Count(got, `"result":0`) != 2 {
		t.Errorf("online reply = %s", got)
	}
	status(sub2, 1)
	c.Disconnect(50)
	status(sub1, 0)
	status(sub2, 0)

	// Reconnected: unbind over MQTT, the API unbinds the other.
	c = mustConnect(t, s.keyOpts(gw, "tcp"))
	if tok := c.Subscribe(result, 1, in.handler); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal("subscribe result topic")
	}
	publish(op, gwRequest("unbind", subRef(sub1)))
	if got := in.next(t, result, `"unbind"`); !strings.Contains(got, `"result":0`) {
		t.Errorf("unbind = %s", got)
	}
	s.mustCall("UnbindDevices", map[string]any{"GatewayProductId": gwPID, "GatewayDeviceName": "gw1", "ProductId": subPID,
		"DeviceNames": []string{"sub2"}}, nil)
	if got := in.next(t, result, `"change"`); !strings.Contains(got, `"status":0`) {
		t.Errorf("change = %s", got)
	}
	if err := s.call("DescribeDeviceBindGateway", map[string]any{"ProductId": subPID, "DeviceName": "sub2"}, nil); apiCode(err) != "ResourceNotFound.DeviceNotBind" {
		t.Errorf("DescribeDeviceBindGateway after unbind: %v", err)
	}
}
