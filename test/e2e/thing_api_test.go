package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

func TestThingModelDefinition(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	schema, err := os.ReadFile(filepath.Join("testdata", "c_sdk_example_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	type model struct {
		Model struct {
			ProductId, ModelDefine string
			CreateTime, UpdateTime int64
		}
	}
	err = s.call("DescribeModelDefinition", map[string]any{"ProductId": pid}, nil)
	if apiCode(err) != "InvalidParameterValue.ModelDefineNil" {
		t.Errorf("describe before define: %v", err)
	}
	err = s.call("ModifyModelDefinition", map[string]any{"ProductId": "NOSUCHPROD", "ModelSchema": string(schema)}, nil)
	if apiCode(err) != "ResourceNotFound.StudioProductNotExist" {
		t.Errorf("modify unknown product: %v", err)
	}

	s.mustCall("ModifyModelDefinition", map[string]any{"ProductId": pid, "ModelSchema": string(schema)}, nil)
	var m1 model
	s.mustCall("DescribeModelDefinition", map[string]any{"ProductId": pid}, &m1)
	if m1.Model.ProductId != pid || m1.Model.ModelDefine != string(schema) || m1.Model.CreateTime == 0 {
		t.Errorf("describe = %+v", m1.Model)
	}

	tests := []struct {
		name, schema, code, mention string
	}{
		{"empty", "", "InvalidParameterValue.ModelDefineNil", ""},
		{"not JSON", "{", "InvalidParameterValue.ModelDefineInvalid", ""},
		{"duplicate id", `{"version":"1.0","properties":[
			{"id":"a","name":"a","mode":"rw","define":{"type":"bool","mapping":{"0":"x","1":"y"}}},
			{"id":"a","name":"b","mode":"rw","define":{"type":"bool","mapping":{"0":"x","1":"y"}}}]}`,
			"InvalidParameterValue.ModelDefineDupID", `"a"`},
		{"bad event type", `{"version":"1.0","events":[{"id":"ev","name":"e","type":"oops","params":[]}]}`,
			"InvalidParameterValue.ModelDefineEventTypeError", `"ev"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.call("ModifyModelDefinition", map[string]any{"ProductId": pid, "ModelSchema": tc.schema}, nil)
			if apiCode(err) != tc.code || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("got %v, want %s naming %s", err, tc.code, tc.mention)
			}
		})
	}
	// Rejected models change nothing; a new valid one becomes the latest
	// version and keeps the creation time.
	v2 := strings.Replace(string(schema), `"version": "1.0"`, `"version": "1.1"`, 1)
	s.mustCall("ModifyModelDefinition", map[string]any{"ProductId": pid, "ModelSchema": v2}, nil)
	var m2 model
	s.mustCall("DescribeModelDefinition", map[string]any{"ProductId": pid}, &m2)
	if m2.Model.ModelDefine != v2 || m2.Model.CreateTime != m1.Model.CreateTime || m2.Model.UpdateTime < m1.Model.UpdateTime {
		t.Errorf("after second modify: %+v (first %+v)", m2.Model, m1.Model)
	}
}

func TestThingControlAndActions(t *testing.T) {
	s := startServer(t, t.TempDir())
	d, c, box := thingDevice(t, s, "ctl1")
	ref := map[string]any{"ProductId": d.ProductID, "DeviceName": d.Name}
	with := func(kv ...any) map[string]any {
		m := map[string]any{"ProductId": d.ProductID, "DeviceName": d.Name}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}

	var ctl struct{ Result string }
	s.mustCall("ControlDeviceData", with("Data", `{"brightness":50,"power_switch":1}`), &ctl)
	if !strings.Contains(ctl.Result, `"Sent":1`) {
		t.Errorf("Result = %s, want Sent 1", ctl.Result)
	}
	got := box.await(t, "$thing/down/property/"+d.ProductID+"/"+d.Name, func(m map[string]any) bool { return m["method"] == "control" })
	if tok, _ := got["clientToken"].(string); tok == "" {
		t.Errorf("control without clientToken: %v", got)
	}
	for _, bad := range []map[string]any{
		with("Data", `{"nope":1}`), with("Data", `{"brightness":1000}`), with("Data", `[1]`), with("Data", `{}`, "Method", "bogus"),
	} {
		if err := s.call("ControlDeviceData", bad, nil); apiCode(err) != "InvalidParameterValue" {
			t.Errorf("ControlDeviceData %v: %v, want InvalidParameterValue", bad["Data"], err)
		}
	}
	s.mustCall("ControlDeviceData", with("Data", `{"name":"cloud"}`, "Method", "reported"), nil)
	var data struct{ Data string }
	s.mustCall("DescribeDeviceData", ref, &data)
	if !strings.Contains(data.Data, `"name":{"Value":"cloud"`) {
		t.Errorf("Data = %s, want name reported by the cloud", data.Data)
	}

	// The device answers actions like the C SDK sample.
	c.Subscribe("$thing/down/action/"+d.ProductID+"/"+d.Name, 0, func(cl mqtt.Client, m mqtt.Message) {
		var a struct {
			ClientToken string
			Params      map[string]any
		}
		_ = json.Unmarshal(m.Payload(), &a)
		cl.Publish("$thing/up/action/"+d.ProductID+"/"+d.Name, 0, false,
			`{"method":"action_reply", "clientToken":"`+a.ClientToken+`", "code":0, "status":"action execute success!", "response":{"err_code":0}}`)
	}).WaitTimeout(10 * time.Second)
	var res struct{ ClientToken, OutputParams, Status string }
	s.mustCall("CallDeviceActionSync", with("ActionId", "light_blink", "InputParams", `{"time":3,"color":1,"total_time":10}`), &res)
	if res.OutputParams != `{"err_code":0}` || res.Status != "action execute success!" || res.ClientToken == "" {
		t.Errorf("CallDeviceActionSync = %+v", res)
	}
	var async struct{ ClientToken, Status string }
	s.mustCall("CallDeviceActionAsync", with("ActionId", "light_blink", "InputParams", `{"time":3,"color":1,"total_time":10}`), &async)
	if async.ClientToken == "" {
		t.Errorf("CallDeviceActionAsync = %+v", async)
	}
	for _, tc := range []struct {
		req  map[string]any
		code string
	}{
		{with("ActionId", "nope", "InputParams", `{}`), "InvalidParameterValue.ActionNilOrNotExist"},
		{with("ActionId", "light_blink", "InputParams", `{"time":3}`), "InvalidParameter.ActionInputParamsInvalid"},
	} {
		if err := s.call("CallDeviceActionSync", tc.req, nil); apiCode(err) != tc.code {
			t.Errorf("CallDeviceActionSync %v: %v, want %s", tc.req, err, tc.code)
		}
	}
	c.Disconnect(100)
	waitOffline(t, s, d)
	err := s.call("CallDeviceActionSync", with("ActionId", "light_blink", "InputParams", `{"time":3,"color":1,"total_time":10}`), nil)
	if apiCode(err) != "FailedOperation.ActionUnreachable" {
		t.Errorf("action to an offline device: %v", err)
	}
	// Offline: the control is kept as pending and not sent.
	s.mustCall("ControlDeviceData", with("Data", `{"brightness":12}`), &ctl)
	if !strings.Contains(ctl.Result, `"Sent":0`) {
		t.Errorf("Result = %s, want Sent 0 for an offline device", ctl.Result)
	}
}
