package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/api"
	"github.com/thingo-iot/thingo/internal/api/apitest"
	"github.com/thingo-iot/thingo/internal/api/tc3"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/store/sqlite"
)

// backends runs fn against the in-memory store and SQLite.
func backends(t *testing.T, fn func(t *testing.T, s *apitest.Server)) {
	t.Run("memory", func(t *testing.T) { fn(t, apitest.NewServer(t, apitest.Options{})) })
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "thingo.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, apitest.NewServer(t, apitest.Options{Store: st}))
	})
}

func ok(t *testing.T, r apitest.Response, into any) {
	t.Helper()
	if r.Code != "" {
		t.Fatalf("error %s: %s", r.Code, r.Message)
	}
	if into != nil {
		if err := json.Unmarshal(r.Raw, into); err != nil {
			t.Fatalf("decode %s: %v", r.Raw, err)
		}
	}
}

func wantCode(t *testing.T, r apitest.Response, code, inMessage string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("code = %q (%s), want %q", r.Code, r.Message, code)
	}
	if !strings.Contains(r.Message, inMessage) {
		t.Errorf("message %q does not mention %q", r.Message, inMessage)
	}
}

type fixture struct {
	projectID, keyPID, certPID string
}

func setup(t *testing.T, s *apitest.Server) fixture {
	t.Helper()
	var prj struct{ Project api.ProjectEntry }
	ok(t, s.Call(t, "CreateProject", map[string]any{"ProjectName": "home", "ProjectDesc": "my home"}), &prj)
	var f fixture
	f.projectID = prj.Project.ProjectId
	for _, enc := range []string{"2", "1"} {
		var prod struct{ Product api.ProductEntry }
		ok(t, s.Call(t, "CreateStudioProduct", map[string]any{
			"ProductName": "lamp" + enc, "CategoryId": 1, "ProductType": 0, "EncryptionType": enc,
			"NetType": "wifi", "DataProtocol": 1, "ProductDesc": "d", "ProjectId": f.projectID,
		}), &prod)
		if !registry.ValidProductID(prod.Product.ProductId) || prod.Product.DevStatus != "dev" || prod.Product.CreateTime == 0 {
			t.Fatalf("product %+v", prod.Product)
		}
		if enc == "2" {
			f.keyPID = prod.Product.ProductId
		} else {
			f.certPID = prod.Product.ProductId
		}
	}
	return f
}

func TestLifecycle(t *testing.T) {
	backends(t, func(t *testing.T, s *apitest.Server) {
		f := setup(t, s)

		var dev struct{ Data api.DeviceData }
		ok(t, s.Call(t, "CreateDevice", map[string]any{"ProductId": f.keyPID, "DeviceName": "dev1"}), &dev)
		if raw, err := base64.StdEncoding.DecodeString(dev.Data.DevicePsk); err != nil || len(raw) != 16 {
			t.Fatalf("DevicePsk %q", dev.Data.DevicePsk)
		}
		ok(t, s.Call(t, "CreateDevice", map[string]any{"ProductId": f.keyPID, "DeviceName": "dev2", "DefinedPsk": "MDEyMzQ1Njc4OWFiY2RlZg=="}), nil)
		var cert struct{ Data api.DeviceData }
		ok(t, s.Call(t, "CreateDevice", map[string]any{"ProductId": f.certPID, "DeviceName": "cam1"}), &cert)
		if !strings.Contains(cert.Data.DeviceCert, "CERTIFICATE") || !strings.Contains(cert.Data.DevicePrivateKey, "PRIVATE KEY") || cert.Data.DevicePsk != "" {
			t.Fatalf("cert device %+v", cert.Data)
		}

		var desc struct{ Device api.DeviceInfo }
		ok(t, s.Call(t, "DescribeDevice", map[string]any{"DeviceId": f.keyPID + "/dev1"}), &desc)
		if desc.Device.DevicePsk != dev.Data.DevicePsk || desc.Device.Status != registry.StatusNeverOnline ||
			desc.Device.EnableState != 1 || desc.Device.DeviceType != "device" || desc.Device.ProductName != "lamp2" {
			t.Fatalf("DescribeDevice %+v", desc.Device)
		}

		var list struct {
			Devices []api.DeviceInfo
			Total   int64
		}
		ok(t, s.Call(t, "GetDeviceList", map[string]any{"ProductId": "-1", "ProjectId": f.projectID, "Limit": 10}), &list)
		if list.Total != 3 || len(list.Devices) != 3 {
			t.Fatalf("project list %+v", list)
		}
		for _, d := range list.Devices {
			if d.DevicePsk != "" {
				t.Errorf("list shows PSK of %s", d.DeviceName)
			}
		}
		ok(t, s.Call(t, "GetDeviceList", map[string]any{"ProductId": f.keyPID,
			"Filters": []map[string]any{{"Name": "DeviceName", "Values": []string{"v2"}}}}), &list)
		if list.Total != 1 || list.Devices[0].DeviceName != "dev2" {
			t.Fatalf("filtered list %+v", list)
		}

		var proj struct{ Project api.ProjectEntryEx }
		ok(t, s.Call(t, "DescribeProject", map[string]any{"ProjectId": f.projectID}), &proj)
		if proj.Project.ProductCount != 2 || proj.Project.DeviceCount != 3 {
			t.Errorf("DescribeProject %+v", proj.Project)
		}

		// Disable: the device is disconnected.
		ok(t, s.Call(t, "UpdateDevicesEnableState", map[string]any{"Status": 0,
			"DevicesItems": []map[string]any{{"ProductId": f.keyPID, "DeviceName": "dev1"}}}), nil)
		ok(t, s.Call(t, "DescribeDevice", map[string]any{"ProductId": f.keyPID, "DeviceName": "dev1"}), &desc)
		if desc.Device.EnableState != 0 {
			t.Errorf("EnableState = %d after disable", desc.Device.EnableState)
		}
		if disc, _ := s.Sessions.Snapshot(); len(disc) != 1 || disc[0] != f.keyPID+"/dev1" {
			t.Errorf("disconnects = %v", disc)
		}

		// Topic policies.
		ok(t, s.Call(t, "CreateTopicPolicy", map[string]any{"ProductId": f.keyPID, "TopicName": "cmd", "Privilege": 2}), nil)
		ok(t, s.Call(t, "ModifyTopicPolicy", map[string]any{"ProductId": f.keyPID, "TopicName": "cmd", "NewTopicName": "cmd/in", "Privilege": 3}), nil)
		var tp api.TopicItem
		ok(t, s.Call(t, "DescribeTopicPolicy", map[string]any{"ProductId": f.keyPID, "TopicName": "cmd/in"}), &tp)
		if tp.Privilege != 3 {
			t.Errorf("DescribeTopicPolicy %+v", tp)
		}
		var topics struct{ Topics []api.TopicItem }
		ok(t, s.Call(t, "ListTopicPolicy", map[string]any{"ProductId": f.keyPID}), &topics)
		if len(topics.Topics) != 1 || topics.Topics[0].TopicName != "cmd/in" {
			t.Errorf("ListTopicPolicy %+v", topics)
		}

		// PublishMessage.
		pub := func(dn, topic string) apitest.Response {
			return s.Call(t, "PublishMessage", map[string]any{"ProductId": f.keyPID, "DeviceName": dn, "Topic": topic,
				"Payload": base64.StdEncoding.EncodeToString([]byte("hi")), "PayloadEncoding": "base64", "Qos": 1})
		}
		wantCode(t, pub("dev2", f.keyPID+"/dev2/cmd/in"), "FailedOperation.DeviceOffline", "")
		s.Sessions.SetOnline(f.keyPID, "dev2", true)
		ok(t, pub("dev2", f.keyPID+"/dev2/cmd/in"), nil)
		ok(t, pub("dev2", "$thing/down/property/"+f.keyPID+"/dev2"), nil)
		wantCode(t, pub("dev2", "$thing/up/property/"+f.keyPID+"/dev2"), "InvalidParameterValue", "Topic")
		wantCode(t, pub("dev2", f.keyPID+"/dev1/control"), "InvalidParameterValue", "Topic")
		wantCode(t, pub("dev1", f.keyPID+"/dev1/control"), "FailedOperation.DeviceAlreadyDisabled", "")
		if _, p := s.Sessions.Snapshot(); len(p) != 2 || string(p[0].Payload) != "hi" || p[0].QoS != 1 {
			t.Errorf("published %+v", p)
		}

		var stats map[string]any
		ok(t, s.Call(t, "GetDeviceSumStatistics", map[string]any{"ProjectId": f.projectID}), &stats)
		if _, present := stats["ActivationCount"]; !present {
			t.Errorf("stats %v", stats)
		}

		// Deletion rules.
		wantCode(t, s.Call(t, "DeleteStudioProduct", map[string]any{"ProductId": f.keyPID}), "UnsupportedOperation.DevicesExistUnderProduct", "")
		wantCode(t, s.Call(t, "DeleteProject", map[string]any{"ProjectId": f.projectID}), "UnsupportedOperation.ProductExistUnderProject", "")
		ok(t, s.Call(t, "DeleteDevices", map[string]any{"DevicesItems": []map[string]any{
			{"ProductId": f.keyPID, "DeviceName": "dev1"}, {"ProductId": f.keyPID, "DeviceName": "dev2"}}}), nil)
		ok(t, s.Call(t, "DeleteDevice", map[string]any{"ProductId": f.certPID, "DeviceName": "cam1"}), nil)
		ok(t, s.Call(t, "ReleaseStudioProduct", map[string]any{"ProductId": f.keyPID, "DevStatus": "released"}), nil)
		var prod struct{ Product api.ProductEntry }
		ok(t, s.Call(t, "ModifyStudioProduct", map[string]any{"ProductId": f.keyPID, "ProductName": "lamp-x", "ProductDesc": "x", "ModuleId": 0}), &prod)
		if prod.Product.ProductName != "lamp-x" || prod.Product.DevStatus != "released" {
			t.Errorf("modified %+v", prod.Product)
		}
		var plist struct {
			Products []api.ProductEntry
			Total    int64
		}
		ok(t, s.Call(t, "GetStudioProductList", map[string]any{"ProjectId": f.projectID, "DevStatus": "released"}), &plist)
		if plist.Total != 1 {
			t.Errorf("released products %+v", plist)
		}
		ok(t, s.Call(t, "DeleteStudioProduct", map[string]any{"ProductId": f.keyPID}), nil)
		ok(t, s.Call(t, "DeleteStudioProduct", map[string]any{"ProductId": f.certPID}), nil)
		ok(t, s.Call(t, "ModifyProject", map[string]any{"ProjectId": f.projectID, "ProjectName": "n", "ProjectDesc": "d"}), nil)
		var projects struct {
			Projects []api.ProjectEntryEx
			Total    int64
		}
		ok(t, s.Call(t, "GetProjectList", map[string]any{}), &projects)
		if projects.Total != 1 || projects.Projects[0].ProjectName != "n" {
			t.Errorf("projects %+v", projects)
		}
		ok(t, s.Call(t, "DeleteProject", map[string]any{"ProjectId": f.projectID}), nil)
	})
}

func TestActionErrors(t *testing.T) {
	s := apitest.NewServer(t, apitest.Options{})
	f := setup(t, s)
	tests := []struct {
		action  string
		params  any
		code    string
		message string
	}{
		{"DescribeDevice", map[string]any{"ProductId": f.keyPID, "DeviceName": "missing"}, "ResourceNotFound.DeviceNotExist", ""},
		{"DescribeDevice", map[string]any{"ProductId": "NOPRODUCT1", "DeviceName": "x"}, "ResourceNotFound.StudioProductNotExist", ""},
		{"DescribeDevice", map[string]any{"DeviceName": "x"}, "MissingParameter", "ProductId"},
		{"CreateDevice", map[string]any{"ProductId": f.keyPID, "DeviceName": "bad name"}, "InvalidParameterValue", "DeviceName"},
		{"CreateDevice", map[string]any{"ProductId": f.keyPID}, "MissingParameter", "DeviceName"},
		{"CreateDevice", map[string]any{"ProductId": f.keyPID, "DeviceName": 5}, "InvalidParameter", "DeviceName"},
		{"CreateDevice", map[string]any{"ProductId": f.keyPID, "DeviceName": "d", "DefinedPsk": "short"}, "InvalidParameterValue", "DefinedPsk"},
		{"CreateDevice", map[string]any{"ProductId": f.certPID, "DeviceName": "d", "DefinedPsk": "MDEyMzQ1Njc4OWFiY2RlZg=="}, "UnauthorizedOperation.ProductNotSupportPSK", ""},
		{"CreateStudioProduct", map[string]any{"ProductName": "p", "CategoryId": "1", "ProductType": 0, "EncryptionType": "2", "NetType": "wifi", "DataProtocol": 1, "ProductDesc": "", "ProjectId": f.projectID}, "InvalidParameter", "CategoryId"},
		{"CreateStudioProduct", map[string]any{"ProductName": "p", "CategoryId": 1, "ProductType": 0, "EncryptionType": "2", "NetType": "wifi", "DataProtocol": 1, "ProductDesc": "", "ProjectId": "prj-none"}, "ResourceNotFound.ProjectNotExist", ""},
		{"CreateStudioProduct", map[string]any{"ProductName": "lamp2", "CategoryId": 1, "ProductType": 0, "EncryptionType": "2", "NetType": "wifi", "DataProtocol": 1, "ProductDesc": "", "ProjectId": f.projectID}, "InvalidParameterValue.ProductAlreadyExist", ""},
		{"DescribeStudioProduct", map[string]any{"ProductId": "NOPRODUCT1"}, "ResourceNotFound.StudioProductNotExist", ""},
		{"DescribeProject", map[string]any{"ProjectId": "prj-none"}, "ResourceNotFound.ProjectNotExist", ""},
		{"GetDeviceList", map[string]any{"ProductId": "-1"}, "MissingParameter", "ProjectId"},
		{"GetDeviceList", map[string]any{"ProductId": f.keyPID, "Limit": 101}, "InvalidParameterValue", "Limit"},
		{"GetDeviceList", map[string]any{"ProductId": f.keyPID, "Filters": []map[string]any{{"Name": "Color", "Values": []string{"x"}}}}, "InvalidParameterValue", "Filters.0.Name"},
		{"GetDeviceList", map[string]any{"ProductId": f.keyPID, "Filters": []map[string]any{{"Values": []string{"x"}}}}, "MissingParameter", "Filters.0.Name"},
		{"UpdateDevicesEnableState", map[string]any{"Status": 0, "DevicesItems": []map[string]any{{"ProductId": f.keyPID, "DeviceName": "nope"}}}, "ResourceNotFound.DeviceNotExist", ""},
		{"UpdateDevicesEnableState", map[string]any{"Status": 2, "DevicesItems": []map[string]any{{"ProductId": f.keyPID, "DeviceName": "nope"}}}, "InvalidParameterValue", "Status"},
		{"DeleteDevices", map[string]any{"DevicesItems": map[string]any{}}, "InvalidParameter", "DevicesItems"},
		{"DescribeTopicPolicy", map[string]any{"ProductId": f.keyPID, "TopicName": "none"}, "ResourceNotFound.TopicPolicyNotExist", ""},
		{"CreateTopicPolicy", map[string]any{"ProductId": f.keyPID, "TopicName": "a/#", "Privilege": 1}, "InvalidParameterValue", "TopicName"},
		{"CreateTopicPolicy", map[string]any{"ProductId": f.keyPID, "TopicName": "a", "Privilege": -1}, "InvalidParameter", "Privilege"},
		{"GetDeviceSumStatistics", map[string]any{"ProjectId": "prj-none"}, "ResourceNotFound.ProjectNotExist", ""},
		{"NoSuchThing", map[string]any{}, "InvalidAction", "NoSuchThing"},
	}
	for _, tt := range tests {
		t.Run(tt.action+"/"+tt.code, func(t *testing.T) {
			wantCode(t, s.Call(t, tt.action, tt.params), tt.code, tt.message)
		})
	}
}

func signed(t *testing.T, s *apitest.Server, method, rawQuery, body, version string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+"/?"+rawQuery, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	ct := "application/json"
	if method == "GET" {
		ct = "application/x-www-form-urlencoded"
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", ct)
	req.Header.Set("X-TC-Version", version)
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("Authorization", tc3.Sign(apitest.SecretID, apitest.SecretKey, tc3.Request{
		Method: method, Host: s.Host, RawQuery: rawQuery, ContentType: ct, Payload: []byte(body),
		Timestamp: ts, Service: "iotexplorer"}))
	return req
}

func TestProtocol(t *testing.T) {
	s := apitest.NewServer(t, apitest.Options{})
	f := setup(t, s)
	s.Call(t, "CreateDevice", map[string]any{"ProductId": f.keyPID, "DeviceName": "dev1"})

	t.Run("GET with flattened query", func(t *testing.T) {
		q := url.Values{"ProductId": {f.keyPID}, "Limit": {"10"}, "Filters.0.Name": {"DeviceName"}, "Filters.0.Values.0": {"dev"}}
		req := signed(t, s, "GET", q.Encode(), "", api.Version)
		req.Header.Set("X-TC-Action", "GetDeviceList")
		var list struct{ Total int64 }
		ok(t, s.Do(t, req), &list)
		if list.Total != 1 {
			t.Errorf("Total = %d", list.Total)
		}
	})
	t.Run("GET type mismatch", func(t *testing.T) {
		q := url.Values{"ProductId": {f.keyPID}, "Limit": {"ten"}}
		req := signed(t, s, "GET", q.Encode(), "", api.Version)
		req.Header.Set("X-TC-Action", "GetDeviceList")
		wantCode(t, s.Do(t, req), "InvalidParameter", "Limit")
	})
	t.Run("wrong version", func(t *testing.T) {
		req := signed(t, s, "POST", "", "{}", "2018-01-01")
		req.Header.Set("X-TC-Action", "GetProjectList")
		wantCode(t, s.Do(t, req), "NoSuchVersion", "")
	})
	t.Run("body too large", func(t *testing.T) {
		big := `{"ProjectName":"` + strings.Repeat("a", api.DefaultMaxBodyBytes) + `"}`
		req := signed(t, s, "POST", "", big, api.Version)
		req.Header.Set("X-TC-Action", "CreateProject")
		wantCode(t, s.Do(t, req), "RequestSizeLimitExceeded", "")
	})
	t.Run("PUT", func(t *testing.T) {
		req, _ := http.NewRequest("PUT", s.URL+"/", bytes.NewReader(nil))
		wantCode(t, s.Do(t, req), "InvalidRequest", "PUT")
	})
	auth := []struct {
		name     string
		id, key  string
		at       time.Time
		wantCode string
	}{
		{"wrong key", apitest.SecretID, "nope", time.Now(), "AuthFailure.SignatureFailure"},
		{"unknown id", "AKIDunknown", "nope", time.Now(), "AuthFailure.SecretIdNotFound"},
		{"expired", apitest.SecretID, apitest.SecretKey, time.Now().Add(-10 * time.Minute), "AuthFailure.SignatureExpire"},
	}
	for _, tt := range auth {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, s.CallWith(t, "GetProjectList", map[string]any{}, tt.id, tt.key, tt.at), tt.wantCode, "")
		})
	}
	t.Run("no authorization", func(t *testing.T) {
		req, _ := http.NewRequest("POST", s.URL+"/", strings.NewReader("{}"))
		req.Header.Set("X-TC-Action", "GetProjectList")
		wantCode(t, s.Do(t, req), "AuthFailure.InvalidAuthorization", "")
	})
}
