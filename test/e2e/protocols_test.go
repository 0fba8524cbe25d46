package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// subscribe subscribes and waits for the SUBACK.
func subscribe(t *testing.T, c mqtt.Client, topic string, h mqtt.MessageHandler) {
	t.Helper()
	tok := c.Subscribe(topic, 0, h)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", topic, tok.Error())
	}
}

func TestRRPC(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	d := s.newDevice(pid, "rrpc1")
	c := mustConnect(t, s.keyOpts(d, "tcp"))
	subscribe(t, c, "$rrpc/rxd/"+pid+"/"+d.Name+"/+", func(cl mqtt.Client, m mqtt.Message) {
		id := m.Topic()[strings.LastIndex(m.Topic(), "/")+1:]
		cl.Publish("$rrpc/txd/"+pid+"/"+d.Name+"/"+id, 0, false, "pong:"+string(m.Payload()))
	})

	var pub struct {
		MessageId     int64
		PayloadBase64 string
	}
	s.mustCall("PublishRRPCMessage", map[string]any{"ProductId": pid, "DeviceName": d.Name, "Payload": "ping"}, &pub)
	if got, _ := base64.StdEncoding.DecodeString(pub.PayloadBase64); string(got) != "pong:ping" || pub.MessageId == 0 {
		t.Errorf("PublishRRPCMessage = %+v", pub)
	}

	var sync struct {
		ClientToken, Status, PayloadBase64, ReplyTopic string
		MessageId                                      uint64
	}
	s.mustCall("CallDeviceRRPCSync", map[string]any{"ProductId": pid, "DeviceName": d.Name, "Payload": "hi"}, &sync)
	if got, _ := base64.StdEncoding.DecodeString(sync.PayloadBase64); sync.Status != "Replied" || string(got) != "pong:hi" {
		t.Errorf("CallDeviceRRPCSync = %+v", sync)
	}

	other := s.newDevice(pid, "rrpc2")
	err := s.call("PublishRRPCMessage", map[string]any{"ProductId": pid, "DeviceName": other.Name, "Payload": "x"}, nil)
	if apiCode(err) != "FailedOperation.DeviceOffline" {
		t.Errorf("offline device: %v", err)
	}
	err = s.call("PublishRRPCMessage", map[string]any{"ProductId": pid, "DeviceName": "nosuch", "Payload": "x"}, nil)
	if apiCode(err) != "ResourceNotFound.DeviceNotExist" {
		t.Errorf("unknown device: %v", err)
	}
	err = s.call("CallDeviceRRPCSync", map[string]any{"ProductId": pid, "DeviceName": d.Name, "Topic": pid + "/" + d.Name + "/data"}, nil)
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("custom topic: %v", err)
	}
}

func TestBroadcast(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	const online = 20
	var got atomic.Int64
	for i := range online + 2 {
		d := s.newDevice(pid, fmt.Sprintf("b%02d", i))
		if i >= online {
			continue // never connects
		}
		c := mustConnect(t, s.keyOpts(d, "tcp"))
		subscribe(t, c, "$broadcast/rxd/"+pid+"/"+d.Name, func(_ mqtt.Client, m mqtt.Message) {
			if string(m.Payload()) == "hello all" {
				got.Add(1)
			}
		})
	}
	var resp struct{ TaskId, DeviceCount int64 }
	start := time.Now()
	s.mustCall("PublishBroadcastMessage", map[string]any{"ProductId": pid, "Payload": "hello all", "Qos": 0}, &resp)
	t.Logf("broadcast to %d devices: %v (API round trip)", resp.DeviceCount, time.Since(start))
	if resp.TaskId == 0 || resp.DeviceCount != online {
		t.Errorf("PublishBroadcastMessage = %+v, want %d devices", resp, online)
	}
	waitFor(t, 10*time.Second, func() error {
		if n := got.Load(); n != online {
			return fmt.Errorf("%d devices got the broadcast", n)
		}
		return nil
	})
	err := s.call("PublishBroadcastMessage", map[string]any{"ProductId": pid, "Payload": "again", "Qos": 0}, nil)
	if apiCode(err) != "RequestLimitExceeded" {
		t.Errorf("second broadcast right away: %v", err)
	}
	err = s.call("PublishBroadcastMessage", map[string]any{"ProductId": "NOSUCHPROD", "Payload": "x", "Qos": 0}, nil)
	if apiCode(err) != "ResourceNotFound.StudioProductNotExist" {
		t.Errorf("unknown product: %v", err)
	}
}

func TestRemoteConfig(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	d1, d2 := s.newDevice(pid, "cfg1"), s.newDevice(pid, "cfg2")
	msgs := make(chan map[string]any, 10)
	c := mustConnect(t, s.keyOpts(d1, "tcp"))
	subscribe(t, c, "$config/operation/result/"+pid+"/"+d1.Name, func(_ mqtt.Client, m mqtt.Message) {
		var v map[string]any
		if err := json.Unmarshal(m.Payload(), &v); err == nil {
			msgs <- v
		}
	})
	get := func() map[string]any {
		t.Helper()
		c.Publish("$config/operation/"+pid+"/"+d1.Name, 0, false, `{"type":"get"}`)
		select {
		case v := <-msgs:
			return v
		case <-time.After(10 * time.Second):
			t.Fatal("no $config reply")
			return nil
		}
	}
	if v := get(); v["type"] != "reply" || v["result"] != float64(1001) {
		t.Errorf("get without configuration = %v", v)
	}
	s.mustCall("ModifyRemoteConfig", map[string]any{"ProductId": pid, "Enabled": true, "Payload": `{"interval": 30}`}, nil)
	if v := get(); v["result"] != float64(0) || fmt.Sprint(v["payload"]) != "map[interval:30]" {
		t.Errorf("get product configuration = %v", v)
	}
	s.mustCall("ModifyRemoteConfig", map[string]any{"ProductId": pid, "DeviceName": d1.Name, "Enabled": true, "Payload": `{"interval": 5}`}, nil)
	var n struct{ DeviceCount int64 }
	s.mustCall("PushRemoteConfig", map[string]any{"ProductId": pid}, &n)
	if n.DeviceCount != 1 {
		t.Errorf("pushed to %d devices, want 1 (one online)", n.DeviceCount)
	}
	select {
	case v := <-msgs:
		if v["type"] != "push" || fmt.Sprint(v["payload"]) != "map[interval:5]" {
			t.Errorf("push = %v", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no push")
	}
	var desc struct{ Config struct{ Payload string } }
	s.mustCall("DescribeRemoteConfig", map[string]any{"ProductId": pid}, &desc)
	if desc.Config.Payload != `{"interval":30}` {
		t.Errorf("DescribeRemoteConfig = %+v", desc.Config)
	}
	err := s.call("DescribeRemoteConfig", map[string]any{"ProductId": pid, "DeviceName": d2.Name}, nil)
	if apiCode(err) != "ResourceNotFound.RemoteConfigNotExist" {
		t.Errorf("describe missing override: %v", err)
	}
	s.mustCall("ModifyRemoteConfig", map[string]any{"ProductId": pid, "DeviceName": d1.Name, "Enabled": false, "Payload": `{}`}, nil)
	if v := get(); v["result"] != float64(1001) {
		t.Errorf("get disabled override = %v", v)
	}
	err = s.call("ModifyRemoteConfig", map[string]any{"ProductId": pid, "Enabled": true, "Payload": `[1]`}, nil)
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("non-object payload: %v", err)
	}
}

func TestShadow(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	s.defineExampleModel(pid)
	d := s.newDevice(pid, "shadow1")
	c := mustConnect(t, s.keyOpts(d, "tcp"))
	next := jsonMessages(t, c, "$shadow/operation/result/"+pid+"/"+d.Name)
	op := func(req string) map[string]any {
		t.Helper()
		c.Publish("$shadow/operation/"+pid+"/"+d.Name, 0, false, req)
		return next()
	}
	state := func(v map[string]any) string {
		p, _ := v["payload"].(map[string]any)
		b, _ := json.Marshal(p["state"])
		return string(b)
	}

	v := op(`{"type":"update","state":{"reported":{"brightness":30,"power_switch":0}},"clientToken":"u1"}`)
	if v["result"] != float64(0) || v["clientToken"] != "u1" || state(v) != `{"reported":{"brightness":30,"power_switch":0}}` {
		t.Errorf("update reply = %v", v)
	}
	// The shadow's reported state is the device data.
	var data struct{ Data string }
	s.mustCall("DescribeDeviceData", map[string]any{"ProductId": pid, "DeviceName": d.Name}, &data)
	if !strings.Contains(data.Data, `"brightness":{"Value":30`) {
		t.Errorf("DescribeDeviceData = %s", data.Data)
	}
	if v := op(`{"type":"update","state":{"reported":{"brightness":500}}}`); v["result"] != float64(406) {
		t.Errorf("out of range report: %v", v)
	}

	// Control through the API is the shadow's desired state.
	s.mustCall("ControlDeviceData", map[string]any{"ProductId": pid, "DeviceName": d.Name, "Data": `{"brightness":80}`}, nil)
	// The control is pushed as a delta at once (see shadow_delta_test.go).
	if delta := next(); delta["type"] != "delta" || state(delta) != `{"brightness":80}` {
		t.Errorf("pushed delta = %v", delta)
	}
	v = op(`{"type":"get","clientToken":"g1"}`)
	if state(v) != `{"desired":{"brightness":80},"reported":{"brightness":30,"power_switch":0}}` {
		t.Errorf("get = %v", v)
	}
	if delta := next(); delta["type"] != "delta" || state(delta) != `{"brightness":80}` {
		t.Errorf("delta = %v", delta)
	}
	v = op(`{"type":"update","state":{"reported":{"brightness":80},"desired":null}}`)
	if state(v) != `{"reported":{"brightness":80,"power_switch":0}}` {
		t.Errorf("update clearing desired = %v", v)
	}
}

func TestTWecall(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	d1, d2 := s.newDevice(pid, "call1"), s.newDevice(pid, "call2")
	call := func(d device) func(req string) map[string]any {
		msgs := make(chan map[string]any, 10)
		c := mustConnect(t, s.keyOpts(d, "tcp"))
		subscribe(t, c, "$twecall/down/service/"+pid+"/"+d.Name, func(_ mqtt.Client, m mqtt.Message) {
			var v map[string]any
			if err := json.Unmarshal(m.Payload(), &v); err == nil {
				msgs <- v
			}
		})
		return func(req string) map[string]any {
			t.Helper()
			c.Publish("$twecall/up/service/"+pid+"/"+d.Name, 0, false, req)
			select {
			case v := <-msgs:
				return v
			case <-time.After(10 * time.Second):
				t.Fatal("no $twecall reply")
				return nil
			}
		}
	}
	c1, c2 := call(d1), call(d2)

	v := c1(`{"method":"get_wechat_sn_ticket","clientToken":"t1","params":{"ModelId":"m1","miniProgramAppId":"wx1"}}`)
	params, _ := v["params"].(map[string]any)
	if v["method"] != "get_wechat_sn_ticket_reply" || v["code"] != float64(0) || params["snTicket"] == "" {
		t.Errorf("ticket reply = %v", v)
	}
	activate := `{"method":"active_device_voip_license","clientToken":"a","params":{"pkgType":1,"modelId":"m1","miniProgramAppId":"wx1"}}`
	if v := c1(activate); v["code"] != float64(1) {
		t.Errorf("activation without a pool = %v", v)
	}
	s.mustCall("ModifyTWeCallLicensePool", map[string]any{"ProductId": pid, "PkgType": 1, "Total": 1, "ValidDays": 30}, nil)
	v = c1(activate)
	params, _ = v["params"].(map[string]any)
	if v["code"] != float64(0) || params["sn"] != pid+"_"+d1.Name || params["ExpireTime"].(float64) < float64(time.Now().Add(29*24*time.Hour).Unix()) {
		t.Errorf("activation = %v", v)
	}
	if v := c2(activate); v["code"] != float64(1) || v["status"] != "twecall: no license left in the pool" {
		t.Errorf("activation with the pool used up = %v", v)
	}
	v = c1(`{"method":"get_voip_device_active_info","clientToken":"i","params":{"modelId":"m1","miniProgramAppId":"wx1"}}`)
	if params, _ := v["params"].(map[string]any); v["method"] != "get_voip_device_active_info_reply" || params["modelId"] != "m1" {
		t.Errorf("active info = %v", v)
	}
	var pools struct {
		Pools []struct{ PkgType, Total, Used, ValidDays int64 }
	}
	s.mustCall("DescribeTWeCallLicensePools", map[string]any{"ProductId": pid}, &pools)
	if len(pools.Pools) != 1 || pools.Pools[0].Used != 1 || pools.Pools[0].Total != 1 {
		t.Errorf("pools = %+v", pools)
	}
	err := s.call("ModifyTWeCallLicensePool", map[string]any{"ProductId": pid, "PkgType": 7, "Total": 1, "ValidDays": 30}, nil)
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("bad package type: %v", err)
	}
}
