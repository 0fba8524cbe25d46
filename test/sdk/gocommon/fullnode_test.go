package gocommon

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Response shapes mirroring tencentcloud-sdk-go iotexplorer/v20190423
// models.go (shared/reference/tencent-cloud-api-models.md): same JSON names,
// same Go types, all pointers as in the SDK.
type (
	productModelDefinition struct {
		ProductId     *string
		ModelDefine   *string
		UpdateTime    *int64
		CreateTime    *int64
		CategoryModel *string
		NetTypeModel  *string
	}
	describeModelDefinitionResponse struct{ Model *productModelDefinition }
	emptyResponse                   struct{}
	controlDeviceDataResponse       struct{ Data, Result *string }
	describeDeviceDataResponse      struct{ Data *string }
	deviceDataHistoryItem           struct{ Time, Value *string }
	describeDeviceDataHistoryResp   struct {
		FieldName *string
		Listover  *bool
		Context   *string
		Results   []*deviceDataHistoryItem
	}
	callDeviceActionSyncResponse struct{ ClientToken, OutputParams, Status *string }
	eventHistoryItem             struct {
		TimeStamp                            *int64
		ProductId, DeviceName, EventId, Type *string
		Data                                 *string
	}
	listEventHistoryResponse struct {
		Context      *string
		Total        *int64
		Listover     *bool
		EventHistory []*eventHistoryItem
	}
	publishRRPCMessageResponse struct {
		MessageId     *int64
		PayloadBase64 *string
	}
	callDeviceRRPCSyncResponse struct {
		ClientToken, Status *string
		MessageId           *uint64
		PayloadBase64       *string
		ReplyTopic          *string
	}
	publishBroadcastMessageResponse struct{ TaskId *int64 }
	productDynamicRegisterResponse  struct {
		RegisterType  *uint64
		ProductSecret *string
		RegisterLimit *uint64
	}
	getCOSURLResponse        struct{ Url *string }
	describeFirmwareResponse struct {
		Version, ProductId, Name, Description, Md5sum *string
		Createtime                                    *uint64
		ProductName, FwType, UserDefined              *string
	}
)

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// TestFullNodeNewerActions drives a full node (MQTT broker, device data,
// protocols, OTA) through the official generic client, with a paho device
// answering, and checks every response against the SDK's typed shapes.
func TestFullNodeNewerActions(t *testing.T) {
	n := startNode(t)
	c := n.client(t)

	prj := obj(c.ok("CreateProject", map[string]any{"ProjectName": "sdk", "ProjectDesc": "full node"})["Project"])
	p := obj(c.ok("CreateStudioProduct", map[string]any{"ProductName": "lamp", "CategoryId": 1, "ProductType": 0,
		"EncryptionType": "2", "NetType": "wifi", "DataProtocol": 1, "ProductDesc": "", "ProjectId": prj["ProjectId"]})["Product"])
	pid := p["ProductId"].(string)
	dev := obj(c.ok("CreateDevice", map[string]any{"ProductId": pid, "DeviceName": "lamp1"})["Data"])
	psk := dev["DevicePsk"].(string)

	// Thing model.
	schema, err := os.ReadFile(filepath.Join("..", "..", "e2e", "testdata", "c_sdk_example_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	c.typed("ModifyModelDefinition", map[string]any{"ProductId": pid, "ModelSchema": string(schema)}, &emptyResponse{})
	var model describeModelDefinitionResponse
	c.typed("DescribeModelDefinition", map[string]any{"ProductId": pid}, &model)
	if m := model.Model; m == nil || str(m.ProductId) != pid || str(m.ModelDefine) != string(schema) || m.CreateTime == nil || *m.CreateTime == 0 {
		t.Errorf("DescribeModelDefinition = %+v", model.Model)
	}

	d := connectDevice(t, n, pid, "lamp1", psk)
	ref := map[string]any{"ProductId": pid, "DeviceName": "lamp1"}
	with := func(kv ...any) map[string]any {
		m := map[string]any{"ProductId": pid, "DeviceName": "lamp1"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}

	// Device data: a paho report, then the data and its history.
	before := time.Now().Add(-time.Minute).UnixMilli()
	d.publish("property", `{"method":"report","clientToken":"r1","params":{"brightness":30,"power_switch":1}}`)
	d.await("report_reply", `"r1"`)
	var data describeDeviceDataResponse
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.typed("DescribeDeviceData", ref, &data)
		if strings.Contains(str(data.Data), `"brightness"`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !isJSONObject(str(data.Data)) || !strings.Contains(str(data.Data), `"brightness":{"Value":30`) {
		t.Errorf("DescribeDeviceData.Data = %s", str(data.Data))
	}
	var hist describeDeviceDataHistoryResp
	c.typed("DescribeDeviceDataHistory", with("FieldName", "brightness", "MinTime", before,
		"MaxTime", time.Now().Add(time.Minute).UnixMilli(), "Limit", 10), &hist)
	if str(hist.FieldName) != "brightness" || hist.Listover == nil || len(hist.Results) != 1 ||
		str(hist.Results[0].Value) != "30" || hist.Results[0].Time == nil {
		t.Errorf("DescribeDeviceDataHistory = %+v (results %d)", hist, len(hist.Results))
	}

	// Control: the device is online and answers control_reply.
	var ctl controlDeviceDataResponse
	c.typed("ControlDeviceData", with("Data", `{"brightness":80}`), &ctl)
	if !isJSONObject(str(ctl.Result)) || !strings.Contains(str(ctl.Result), `"Sent":1`) {
		t.Errorf("ControlDeviceData.Result = %s", str(ctl.Result))
	}
	d.await("$thing/down/property/", `"method":"control"`, `"brightness":80`)

	// Actions: the device answers action_reply.
	var act callDeviceActionSyncResponse
	c.typed("CallDeviceActionSync", with("ActionId", "light_blink", "InputParams", `{"time":3,"color":1,"total_time":10}`), &act)
	if str(act.OutputParams) != `{"err_code":0}` || str(act.Status) != "done" || str(act.ClientToken) == "" {
		t.Errorf("CallDeviceActionSync = %s %s %s", str(act.ClientToken), str(act.OutputParams), str(act.Status))
	}

	// Events.
	d.publish("event", `{"method":"event_post","clientToken":"e1","version":"1.0","eventId":"status_report","type":"info",`+
		`"params":{"status":0,"message":"ok"}}`)
	d.await("event_reply", `"e1"`)
	var ev listEventHistoryResponse
	for deadline := time.Now().Add(10 * time.Second); ; {
		c.typed("ListEventHistory", with("Size", 10), &ev)
		if len(ev.EventHistory) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(ev.EventHistory) != 1 || ev.Total == nil || *ev.Total != 1 || ev.Listover == nil {
		t.Fatalf("ListEventHistory = %+v", ev)
	}
	if e := ev.EventHistory[0]; str(e.EventId) != "status_report" || str(e.Type) != "info" || str(e.ProductId) != pid ||
		str(e.DeviceName) != "lamp1" || e.TimeStamp == nil || !isJSONObject(str(e.Data)) {
		t.Errorf("event = %+v data %s", e, str(e.Data))
	}

	// RRPC: the device answers on $rrpc/txd.
	var rrpc publishRRPCMessageResponse
	c.typed("PublishRRPCMessage", with("Payload", "ping"), &rrpc)
	if got, _ := base64.StdEncoding.DecodeString(str(rrpc.PayloadBase64)); string(got) != "pong:ping" || rrpc.MessageId == nil || *rrpc.MessageId == 0 {
		t.Errorf("PublishRRPCMessage = %+v", rrpc)
	}
	var sync callDeviceRRPCSyncResponse
	c.typed("CallDeviceRRPCSync", with("Payload", "hi"), &sync)
	if got, _ := base64.StdEncoding.DecodeString(str(sync.PayloadBase64)); string(got) != "pong:hi" || str(sync.Status) != "Replied" || sync.MessageId == nil {
		t.Errorf("CallDeviceRRPCSync = %+v", sync)
	}

	// Broadcast reaches the online device.
	var bc publishBroadcastMessageResponse
	c.typed("PublishBroadcastMessage", map[string]any{"ProductId": pid, "Payload": "hello all", "Qos": 0}, &bc)
	if bc.TaskId == nil || *bc.TaskId == 0 {
		t.Errorf("PublishBroadcastMessage = %+v", bc)
	}
	d.await("$broadcast/rxd/", "hello all")

	// Dynamic registration settings.
	var reg productDynamicRegisterResponse
	c.typed("ModifyProductDynamicRegister", map[string]any{"ProductId": pid, "RegisterType": 2, "RegisterLimit": 10}, &reg)
	if reg.RegisterType == nil || *reg.RegisterType != 2 || reg.RegisterLimit == nil || *reg.RegisterLimit != 10 || str(reg.ProductSecret) == "" {
		t.Errorf("ModifyProductDynamicRegister = %+v", reg)
	}
	var reg2 productDynamicRegisterResponse
	c.typed("DescribeProductDynamicRegister", map[string]any{"ProductId": pid}, &reg2)
	if reg2.RegisterType == nil || *reg2.RegisterType != 2 || str(reg2.ProductSecret) != str(reg.ProductSecret) {
		t.Errorf("DescribeProductDynamicRegister = %+v", reg2)
	}

	// Firmware: upload to GetCOSURL's URL, record it, describe it.
	fw := make([]byte, 4096)
	_, _ = rand.Read(fw)
	sum := md5.Sum(fw)
	var cos getCOSURLResponse
	c.typed("GetCOSURL", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "FileSize": len(fw)}, &cos)
	req, err := http.NewRequest(http.MethodPut, str(cos.Url), bytes.NewReader(fw))
	if err != nil {
		t.Fatalf("GetCOSURL.Url %q: %v", str(cos.Url), err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT firmware: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("PUT firmware: %s", res.Status)
	}
	c.typed("UploadFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "Md5sum": hex.EncodeToString(sum[:]),
		"FileSize": len(fw), "FirmwareName": "lampfw", "FirmwareDescription": "sdk test"}, &emptyResponse{})
	var desc describeFirmwareResponse
	c.typed("DescribeFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0"}, &desc)
	if str(desc.Md5sum) != hex.EncodeToString(sum[:]) || str(desc.Version) != "2.0.0" || str(desc.ProductId) != pid ||
		str(desc.Name) != "lampfw" || desc.Createtime == nil || *desc.Createtime == 0 {
		b, _ := json.Marshal(desc)
		t.Errorf("DescribeFirmware = %s", b)
	}
}
