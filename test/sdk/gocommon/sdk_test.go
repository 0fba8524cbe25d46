package gocommon

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/thingo-iot/thingo/internal/api/apitest"
	"github.com/thingo-iot/thingo/internal/store/sqlite"
)

func newServer(t *testing.T) *apitest.Server {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "thingo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return apitest.NewServer(t, apitest.Options{Store: st})
}

type client struct {
	t *testing.T
	c *common.Client
}

func newClient(t *testing.T, s *apitest.Server, secretKey, method string) client {
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = s.Host
	cpf.HttpProfile.Scheme = "HTTP"
	cpf.HttpProfile.ReqMethod = method
	return client{t: t, c: common.NewCommonClient(common.NewCredential(apitest.SecretID, secretKey), "ap-guangzhou", cpf)}
}

// call sends an action and returns the decoded Response, or the SDK error.
func (c client) call(action string, params map[string]any) (map[string]any, error) {
	c.t.Helper()
	req := tchttp.NewCommonRequest("iotexplorer", "2019-04-23", action)
	if err := req.SetActionParameters(params); err != nil {
		c.t.Fatal(err)
	}
	resp := tchttp.NewCommonResponse()
	if err := c.c.Send(req, resp); err != nil {
		return nil, err
	}
	var env struct{ Response map[string]any }
	if err := json.Unmarshal(resp.GetBody(), &env); err != nil {
		c.t.Fatalf("%s: %v", action, err)
	}
	if env.Response["RequestId"] == "" {
		c.t.Errorf("%s: no RequestId", action)
	}
	return env.Response, nil
}

func (c client) ok(action string, params map[string]any) map[string]any {
	c.t.Helper()
	r, err := c.call(action, params)
	if err != nil {
		c.t.Fatalf("%s: %v", action, err)
	}
	return r
}

func (c client) fails(action string, params map[string]any, code string) {
	c.t.Helper()
	_, err := c.call(action, params)
	var e *sdkerrors.TencentCloudSDKError
	if !errors.As(err, &e) || e.GetCode() != code {
		c.t.Errorf("%s: err = %v, want %s", action, err, code)
	}
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

func TestCommonClientLifecycle(t *testing.T) {
	s := newServer(t)
	c := newClient(t, s, apitest.SecretKey, "POST")

	prj := obj(c.ok("CreateProject", map[string]any{"ProjectName": "home", "ProjectDesc": "common client"})["Project"])
	prjID := prj["ProjectId"].(string)
	product := func(name, enc string) string {
		p := obj(c.ok("CreateStudioProduct", map[string]any{"ProductName": name, "CategoryId": 1, "ProductType": 0,
			"EncryptionType": enc, "NetType": "wifi", "DataProtocol": 1, "ProductDesc": "", "ProjectId": prjID})["Product"])
		return p["ProductId"].(string)
	}
	keyPID, certPID := product("lamp", "2"), product("camera", "1")

	const psk = "MDEyMzQ1Njc4OWFiY2RlZg=="
	d := obj(c.ok("CreateDevice", map[string]any{"ProductId": keyPID, "DeviceName": "dev1", "DefinedPsk": psk})["Data"])
	if d["DevicePsk"] != psk {
		t.Errorf("DefinedPsk: %v", d)
	}
	c.ok("CreateDevice", map[string]any{"ProductId": keyPID, "DeviceName": "dev2"})
	cam := obj(c.ok("CreateDevice", map[string]any{"ProductId": certPID, "DeviceName": "cam1"})["Data"])
	if cam["DeviceCert"] == "" || cam["DevicePrivateKey"] == "" {
		t.Errorf("cert device %v", cam)
	}

	dev := obj(c.ok("DescribeDevice", map[string]any{"DeviceId": keyPID + "/dev1"})["Device"])
	if dev["DevicePsk"] != psk || dev["Status"] != float64(3) || dev["DeviceType"] != "device" {
		t.Errorf("DescribeDevice %v", dev)
	}
	list := c.ok("GetDeviceList", map[string]any{"ProductId": "-1", "ProjectId": prjID, "Offset": 0, "Limit": 10,
		"Filters": []map[string]any{{"Name": "DeviceName", "Values": []string{"dev"}}}})
	if list["Total"] != float64(2) {
		t.Errorf("GetDeviceList %v", list)
	}

	// GET: CommonClient signs and sends no query parameters for a
	// CommonRequest (its parameters are not flattened), so only a
	// parameterless action works; gotyped tests GET with parameters.
	g := newClient(t, s, apitest.SecretKey, "GET")
	if r := g.ok("GetProjectList", map[string]any{}); r["Total"] != float64(1) {
		t.Errorf("GET GetProjectList %v", r)
	}

	items := []map[string]any{{"ProductId": keyPID, "DeviceName": "dev1"}}
	c.ok("UpdateDevicesEnableState", map[string]any{"DevicesItems": items, "Status": 0})
	if dev := obj(c.ok("DescribeDevice", map[string]any{"ProductId": keyPID, "DeviceName": "dev1"})["Device"]); dev["EnableState"] != float64(0) {
		t.Errorf("EnableState after disable: %v", dev["EnableState"])
	}
	if disc, _ := s.Sessions.Snapshot(); len(disc) != 1 {
		t.Errorf("disabled device not disconnected: %v", disc)
	}
	c.ok("UpdateDevicesEnableState", map[string]any{"DevicesItems": items, "Status": 1})

	stats := c.ok("GetDeviceSumStatistics", map[string]any{"ProjectId": prjID, "ProductIds": []string{keyPID}})
	if _, ok := stats["ActivationCount"].(float64); !ok {
		t.Errorf("GetDeviceSumStatistics %v", stats)
	}

	c.ok("CreateTopicPolicy", map[string]any{"ProductId": keyPID, "TopicName": "cmd", "Privilege": 2})
	c.fails("CreateTopicPolicy", map[string]any{"ProductId": keyPID, "TopicName": "cmd", "Privilege": 2}, "InvalidParameterValue.TopicPolicyAlreadyExist")
	c.ok("ModifyTopicPolicy", map[string]any{"ProductId": keyPID, "TopicName": "cmd", "NewTopicName": "cmd/in", "Privilege": 3})
	if tp := c.ok("DescribeTopicPolicy", map[string]any{"ProductId": keyPID, "TopicName": "cmd/in"}); tp["Privilege"] != float64(3) {
		t.Errorf("DescribeTopicPolicy %v", tp)
	}
	if ts, _ := c.ok("ListTopicPolicy", map[string]any{"ProductId": keyPID})["Topics"].([]any); len(ts) != 1 {
		t.Errorf("ListTopicPolicy %v", ts)
	}
	s.Sessions.SetOnline(keyPID, "dev2", true)
	c.ok("PublishMessage", map[string]any{"ProductId": keyPID, "DeviceName": "dev2", "Topic": keyPID + "/dev2/cmd/in",
		"Payload": base64.StdEncoding.EncodeToString([]byte{0, 1, 2}), "PayloadEncoding": "base64", "Qos": 1})
	c.ok("DeleteTopicPolicy", map[string]any{"ProductId": keyPID, "TopicName": "cmd/in"})
	c.fails("DescribeTopicPolicy", map[string]any{"ProductId": keyPID, "TopicName": "cmd/in"}, "ResourceNotFound.TopicPolicyNotExist")

	// Errors.
	c.fails("DescribeDevice", map[string]any{"ProductId": keyPID, "DeviceName": "missing"}, "ResourceNotFound.DeviceNotExist")
	c.fails("CreateDevice", map[string]any{"ProductId": keyPID, "DeviceName": "bad/name"}, "InvalidParameterValue")
	c.fails("CreateDevice", map[string]any{"ProductId": keyPID}, "MissingParameter")
	c.fails("CreateDevice", map[string]any{"ProductId": keyPID, "DeviceName": []string{"x"}}, "InvalidParameter")
	c.fails("NoSuchAction", map[string]any{}, "InvalidAction")
	newClient(t, s, "wrong-key", "POST").fails("GetProjectList", map[string]any{}, "AuthFailure.SignatureFailure")

	c.ok("DeleteDevices", map[string]any{"DevicesItems": []map[string]any{
		{"ProductId": keyPID, "DeviceName": "dev1"}, {"ProductId": keyPID, "DeviceName": "dev2"}}})
	c.ok("DeleteDevice", map[string]any{"ProductId": certPID, "DeviceName": "cam1"})
	c.ok("DeleteStudioProduct", map[string]any{"ProductId": keyPID})
	c.ok("DeleteStudioProduct", map[string]any{"ProductId": certPID})
	c.ok("DeleteProject", map[string]any{"ProjectId": prjID})
}
