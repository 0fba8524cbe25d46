package e2e

import (
	"encoding/json"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestShadowDeltaOnControl: a control set through ControlDeviceData reaches a
// shadow device online as a delta at once, without a get or an update.
func TestShadowDeltaOnControl(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	s.defineExampleModel(pid)
	d := s.newDevice(pid, "shadowdelta1")
	c := mustConnect(t, s.keyOpts(d, "tcp"))
	next := jsonMessages(t, c, "$shadow/operation/result/"+pid+"/"+d.Name)
	state := func(v map[string]any) string {
		p, _ := v["payload"].(map[string]any)
		b, _ := json.Marshal(p["state"])
		return string(b)
	}
	c.Publish("$shadow/operation/"+pid+"/"+d.Name, 0, false,
		`{"type":"update","state":{"reported":{"brightness":30,"power_switch":0}},"clientToken":"u1"}`)
	if v := next(); v["type"] != "update" || v["result"] != float64(0) {
		t.Fatalf("update reply = %v", v)
	}

	tests := []struct {
		control, delta string
	}{
		{`{"brightness":80}`, `{"brightness":80}`},
		{`{"power_switch":1}`, `{"brightness":80,"power_switch":1}`}, // desired values accumulate
	}
	for _, tc := range tests {
		s.mustCall("ControlDeviceData", map[string]any{"ProductId": pid, "DeviceName": d.Name, "Data": tc.control}, nil)
		v := next()
		if v["type"] != "delta" || state(v) != tc.delta {
			t.Errorf("after control %s: got %v, want delta %s", tc.control, v, tc.delta)
		}
		p, _ := v["payload"].(map[string]any)
		if ver, _ := p["version"].(float64); ver <= 0 {
			t.Errorf("delta version = %v", p["version"])
		}
	}

	// Reporting the desired values and clearing them ends the delta.
	c.Publish("$shadow/operation/"+pid+"/"+d.Name, 0, false,
		`{"type":"update","state":{"reported":{"brightness":80,"power_switch":1},"desired":null}}`)
	if v := next(); v["type"] != "update" || state(v) != `{"reported":{"brightness":80,"power_switch":1}}` {
		t.Errorf("update clearing desired = %v", v)
	}

	// A device that is offline gets no push; the control is still accepted
	// and it sees the delta with its next get.
	off := s.newDevice(pid, "shadowdelta2")
	s.mustCall("ControlDeviceData", map[string]any{"ProductId": pid, "DeviceName": off.Name, "Data": `{"brightness":10}`}, nil)
	c2 := mustConnect(t, s.keyOpts(off, "tcp"))
	msgs2 := make(chan map[string]any, 10)
	subscribe(t, c2, "$shadow/operation/result/"+pid+"/"+off.Name, func(_ mqtt.Client, m mqtt.Message) {
		var v map[string]any
		if err := json.Unmarshal(m.Payload(), &v); err == nil {
			msgs2 <- v
		}
	})
	c2.Publish("$shadow/operation/"+pid+"/"+off.Name, 0, false, `{"type":"get"}`)
	var got []map[string]any
	for len(got) < 2 {
		select {
		case v := <-msgs2:
			got = append(got, v)
		case <-time.After(10 * time.Second):
			t.Fatalf("offline device got %v, want get reply and delta", got)
		}
	}
	if got[0]["type"] != "get" || got[1]["type"] != "delta" || state(got[1]) != `{"brightness":10}` {
		t.Errorf("offline device got %v", got)
	}
}
