package e2e

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestThingExtras covers the Thingo-specific thing-model actions:
// PublishAlertFenceEvent and its recorded reply, raw uplinks through
// DescribeDeviceRawData, raw downlinks through PublishMessage, and the
// recorded result of CallDeviceActionAsync.
func TestThingExtras(t *testing.T) {
	s := startServer(t, t.TempDir())
	d, c, box := thingDevice(t, s, "extra1")
	with := func(kv ...any) map[string]any {
		m := map[string]any{"ProductId": d.ProductID, "DeviceName": d.Name}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	up := func(kind, payload string) {
		t.Helper()
		tok := c.Publish("$thing/up/"+kind+"/"+d.ProductID+"/"+d.Name, 1, false, payload)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	type callResult struct {
		ClientToken, Method, ActionId, InputParams, Status, OutputParams string
		Replied                                                          bool
		Code, CreateTime, ReplyTime                                      int64
	}
	waitReplied := func(token string) callResult {
		t.Helper()
		var r callResult
		waitFor(t, 10*time.Second, func() error {
			if err := s.call("DescribeDeviceCallResult", with("ClientToken", token), &r); err != nil {
				return err
			}
			if !r.Replied {
				return errors.New("not replied yet")
			}
			return nil
		})
		return r
	}

	t.Run("AlertFence", func(t *testing.T) {
		var fence struct{ ClientToken string }
		s.mustCall("PublishAlertFenceEvent", with("AlertType", "In", "AlertCondition", "InOrOut", "FenceName", "home",
			"Longitude", 113.93, "Latitude", 22.54, "AlarmTime", 1700000000), &fence)
		got := box.await(t, "$thing/down/service/"+d.ProductID+"/"+d.Name, func(m map[string]any) bool {
			return m["method"] == "alert_fence_event"
		})
		data, _ := got["data"].(map[string]any)
		if got["clientToken"] != fence.ClientToken || data["fence_name"] != "home" || data["alert_type"] != "In" ||
			data["alarm_time"] != float64(1700000000) || data["long"] != 113.93 || data["lat"] != 22.54 {
			t.Fatalf("alert_fence_event = %v", got)
		}
		if _, ok := got["timestamp"].(float64); !ok {
			t.Errorf("alert_fence_event without an integer timestamp: %v", got)
		}
		up("service", `{"method":"alert_fence_event_reply","clientToken":"`+fence.ClientToken+`","timestamp":0,"code":0,"status":"success"}`)
		r := waitReplied(fence.ClientToken)
		if r.Method != "alert_fence_event" || r.Status != "success" || r.Code != 0 || r.ReplyTime == 0 {
			t.Errorf("fence call result = %+v", r)
		}
		if err := s.call("PublishAlertFenceEvent", with("AlertType", "Sideways", "FenceName", "x"), nil); apiCode(err) != "InvalidParameterValue" {
			t.Errorf("bad AlertType: %v", err)
		}
		if err := s.call("DescribeDeviceCallResult", with("ClientToken", "nope"), nil); apiCode(err) != "ResourceNotFound" {
			t.Errorf("unknown token: %v", err)
		}
	})

	t.Run("AsyncAction", func(t *testing.T) {
		var async struct{ ClientToken string }
		s.mustCall("CallDeviceActionAsync", with("ActionId", "light_blink", "InputParams", `{"time":3,"color":1,"total_time":10}`), &async)
		box.await(t, "$thing/down/action/"+d.ProductID+"/"+d.Name, func(m map[string]any) bool {
			return m["clientToken"] == async.ClientToken
		})
		var before callResult
		s.mustCall("DescribeDeviceCallResult", with("ClientToken", async.ClientToken), &before)
		if before.Replied || before.ActionId != "light_blink" || before.Method != "action" {
			t.Errorf("before the reply: %+v", before)
		}
		up("action", `{"method":"action_reply","clientToken":"`+async.ClientToken+`","code":0,"status":"done","response":{"err_code":0}}`)
		r := waitReplied(async.ClientToken)
		if r.Status != "done" || r.OutputParams != `{"err_code":0}` {
			t.Errorf("async result = %+v", r)
		}
	})

	t.Run("Raw", func(t *testing.T) {
		payloads := []string{"\x00\x01\x02binary", "\xff\xfe second"}
		for _, p := range payloads {
			up("raw", p)
		}
		var raw struct {
			Total    int64
			Listover bool
			Context  string
			Data     []struct {
				Time    int64
				Payload string
			}
		}
		waitFor(t, 10*time.Second, func() error {
			if err := s.call("DescribeDeviceRawData", with("Limit", 1), &raw); err != nil {
				return err
			}
			if raw.Total != 2 {
				return fmt.Errorf("total %d", raw.Total)
			}
			return nil
		})
		if len(raw.Data) != 1 || raw.Data[0].Payload != base64.StdEncoding.EncodeToString([]byte(payloads[1])) || raw.Listover {
			t.Fatalf("first page = %+v", raw)
		}
		s.mustCall("DescribeDeviceRawData", with("Limit", 1, "Context", raw.Context), &raw)
		if len(raw.Data) != 1 || raw.Data[0].Payload != base64.StdEncoding.EncodeToString([]byte(payloads[0])) || !raw.Listover {
			t.Errorf("second page = %+v", raw)
		}

		// $thing/down/raw is sent through PublishMessage, bytes untouched.
		var mu sync.Mutex
		var down []byte
		tok := c.Subscribe("$thing/down/raw/"+d.ProductID+"/"+d.Name, 0, func(_ mqtt.Client, m mqtt.Message) {
			mu.Lock()
			down = append([]byte(nil), m.Payload()...)
			mu.Unlock()
		})
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
		want := "\x00\xffdown"
		s.mustCall("PublishMessage", with("Topic", "$thing/down/raw/"+d.ProductID+"/"+d.Name,
			"Payload", base64.StdEncoding.EncodeToString([]byte(want)), "PayloadEncoding", "base64"), nil)
		waitFor(t, 10*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if string(down) != want {
				return fmt.Errorf("raw downlink %q", down)
			}
			return nil
		})
	})
}

// TestThingDataGoneWithDevice deletes a device with data and re-creates it:
// the new device starts empty.
func TestThingDataGoneWithDevice(t *testing.T) {
	s := startServer(t, t.TempDir())
	d, c, box := thingDevice(t, s, "gone1")
	ref := map[string]any{"ProductId": d.ProductID, "DeviceName": d.Name}
	tok := c.Publish("$thing/up/property/"+d.ProductID+"/"+d.Name, 1, false,
		`{"method":"report","clientToken":"r1","params":{"brightness":42}}`)
	tok.WaitTimeout(10 * time.Second)
	box.await(t, "$thing/down/property/"+d.ProductID+"/"+d.Name, func(m map[string]any) bool {
		return m["method"] == "report_reply" && m["code"] == float64(0)
	})
	s.mustCall("ControlDeviceData", map[string]any{"ProductId": d.ProductID, "DeviceName": d.Name, "Data": `{"brightness":7}`}, nil)
	s.mustCall("DeleteDevice", ref, nil)
	s.newDevice(d.ProductID, d.Name)
	var data struct{ Data string }
	s.mustCall("DescribeDeviceData", ref, &data)
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(data.Data), &m); err != nil || len(m) != 0 {
		t.Errorf("re-created device Data = %s, want {}", data.Data)
	}
	var hist struct{ Results []any }
	now := time.Now().UnixMilli()
	s.mustCall("DescribeDeviceDataHistory", map[string]any{"ProductId": d.ProductID, "DeviceName": d.Name,
		"FieldName": "brightness", "MinTime": now - 3600_000, "MaxTime": now + 60_000}, &hist)
	if len(hist.Results) != 0 {
		t.Errorf("re-created device history = %v", hist.Results)
	}
}
