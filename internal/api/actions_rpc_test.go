package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/thingo-iot/thingo/internal/api"
	"github.com/thingo-iot/thingo/internal/api/apitest"
	"github.com/thingo-iot/thingo/internal/apiclient"
	"github.com/thingo-iot/thingo/internal/broadcast"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/registry/registrytest"
	"github.com/thingo-iot/thingo/internal/remoteconfig"
	"github.com/thingo-iot/thingo/internal/rrpc"
	"github.com/thingo-iot/thingo/internal/secretbox"
	"github.com/thingo-iot/thingo/internal/twecall"
)

type fakeRRPC struct{ reply []byte }

func (f fakeRRPC) Call(_ context.Context, _, dn string, payload []byte) (rrpc.Reply, error) {
	switch dn {
	case "slow":
		return rrpc.Reply{MessageID: 7}, rrpc.ErrTimeout
	case "gone":
		return rrpc.Reply{MessageID: 8}, api.ErrDeviceOffline
	}
	return rrpc.Reply{MessageID: 9, Payload: append([]byte("re:"), payload...)}, nil
}

type fakeBroadcast struct{ err error }

func (f fakeBroadcast) Publish(context.Context, string, []byte, byte) (broadcast.Result, error) {
	return broadcast.Result{TaskID: 1, Reached: 3}, f.err
}

type fakeConfigs struct{}

func (fakeConfigs) Set(_ context.Context, pid, dn string, enabled bool, payload []byte) (remoteconfig.Record, error) {
	if !strings.HasPrefix(string(payload), "{") {
		return remoteconfig.Record{}, remoteconfig.ErrNotObject
	}
	return remoteconfig.Record{ProductID: pid, DeviceName: dn, Enabled: enabled, Payload: payload}, nil
}
func (fakeConfigs) Get(context.Context, string, string) (remoteconfig.Record, error) {
	return remoteconfig.Record{}, remoteconfig.ErrNotFound
}
func (fakeConfigs) Delete(context.Context, string, string) error { return nil }
func (fakeConfigs) Push(context.Context, string, string) (int, error) {
	return 0, remoteconfig.ErrDisabled
}

type fakePools struct{}

func (fakePools) SetPool(context.Context, string, int, int64, int) error { return nil }
func (fakePools) Pools(context.Context, string) ([]twecall.Pool, error) {
	return []twecall.Pool{{PkgType: 1, Total: 4}}, nil
}

// protoServer serves the API with p; it returns a client and a key product
// with devices dev, slow and gone.
func protoServer(t *testing.T, p api.Protocols) (call func(action string, req map[string]any) (map[string]any, string), pid string) {
	t.Helper()
	box, err := secretbox.New(make([]byte, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.NewService(registrytest.NewStore(), box, apitest.Issuer{}, nil)
	h, err := api.NewHandler(api.Config{Registry: reg, Keys: api.StaticKeys{apitest.SecretID: apitest.SecretKey}, Protocols: p})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := &apiclient.Client{URL: srv.URL, SecretID: apitest.SecretID, SecretKey: apitest.SecretKey}
	call = func(action string, req map[string]any) (map[string]any, string) {
		var resp map[string]any
		err := c.Call(context.Background(), action, req, &resp)
		var e *apiclient.Error
		if errors.As(err, &e) {
			return nil, e.Code
		}
		if err != nil {
			t.Fatal(err)
		}
		return resp, ""
	}
	var prj struct{ Project struct{ ProjectId string } }
	if err := c.Call(context.Background(), "CreateProject", map[string]any{"ProjectName": "p", "ProjectDesc": "d"}, &prj); err != nil {
		t.Fatal(err)
	}
	var prod struct{ Product struct{ ProductId string } }
	if err := c.Call(context.Background(), "CreateStudioProduct", map[string]any{"ProductName": "x", "CategoryId": 1,
		"ProductType": 0, "EncryptionType": "2", "NetType": "wifi", "DataProtocol": 1, "ProductDesc": "d",
		"ProjectId": prj.Project.ProjectId}, &prod); err != nil {
		t.Fatal(err)
	}
	for _, dn := range []string{"dev", "slow", "gone"} {
		if err := c.Call(context.Background(), "CreateDevice", map[string]any{"ProductId": prod.Product.ProductId, "DeviceName": dn}, nil); err != nil {
			t.Fatal(err)
		}
	}
	return call, prod.Product.ProductId
}

func TestProtocolActions(t *testing.T) {
	call, pid := protoServer(t, api.Protocols{RRPC: fakeRRPC{}, Broadcast: fakeBroadcast{}, RemoteConfig: fakeConfigs{}, TWecall: fakePools{}})
	busy, busyPID := protoServer(t, api.Protocols{Broadcast: fakeBroadcast{broadcast.ErrTaskRunning}})
	none, _ := protoServer(t, api.Protocols{})
	big := strings.Repeat("x", api.MaxPublishPayload+1)
	tests := []struct {
		name   string
		call   func(string, map[string]any) (map[string]any, string)
		action string
		req    map[string]any
		code   string
		field  string // response field to check
		want   any
	}{
		{"rrpc", call, "PublishRRPCMessage", map[string]any{"ProductId": pid, "DeviceName": "dev", "Payload": "hi"}, "", "PayloadBase64", "cmU6aGk="},
		{"rrpc timeout", call, "PublishRRPCMessage", map[string]any{"ProductId": pid, "DeviceName": "slow", "Payload": "hi"}, "FailedOperation.RRPCTimeout", "", nil},
		{"rrpc offline", call, "PublishRRPCMessage", map[string]any{"ProductId": pid, "DeviceName": "gone", "Payload": "hi"}, "FailedOperation.DeviceOffline", "", nil},
		{"rrpc unknown device", call, "PublishRRPCMessage", map[string]any{"ProductId": pid, "DeviceName": "nope", "Payload": "hi"}, "ResourceNotFound.DeviceNotExist", "", nil},
		{"rrpc too big", call, "PublishRRPCMessage", map[string]any{"ProductId": pid, "DeviceName": "dev", "Payload": big}, "InvalidParameterValue.PayloadOverLimit", "", nil},
		{"rrpc missing payload", call, "PublishRRPCMessage", map[string]any{"ProductId": pid, "DeviceName": "dev"}, "MissingParameter", "", nil},
		{"sync replied", call, "CallDeviceRRPCSync", map[string]any{"ProductId": pid, "DeviceName": "dev", "Payload": "hi"}, "", "Status", "Replied"},
		{"sync base64", call, "CallDeviceRRPCSync", map[string]any{"ProductId": pid, "DeviceName": "dev", "Payload": "hi", "Encoding": "base64"}, "", "PayloadBase64", "cmU6YUdrPQ=="},
		{"sync timeout", call, "CallDeviceRRPCSync", map[string]any{"ProductId": pid, "DeviceName": "slow"}, "", "Status", "Timeout"},
		{"sync custom topic", call, "CallDeviceRRPCSync", map[string]any{"ProductId": pid, "DeviceName": "dev", "Topic": "a/b"}, "InvalidParameterValue", "", nil},
		{"sync bad encoding", call, "CallDeviceRRPCSync", map[string]any{"ProductId": pid, "DeviceName": "dev", "Encoding": "hex"}, "InvalidParameterValue", "", nil},
		{"broadcast", call, "PublishBroadcastMessage", map[string]any{"ProductId": pid, "Payload": "x", "Qos": 1}, "", "DeviceCount", float64(3)},
		{"broadcast qos 2", call, "PublishBroadcastMessage", map[string]any{"ProductId": pid, "Payload": "x", "Qos": 2}, "InvalidParameterValue", "", nil},
		{"broadcast bad base64", call, "PublishBroadcastMessage", map[string]any{"ProductId": pid, "Payload": "!", "Qos": 0, "PayloadEncoding": "base64"}, "InvalidParameterValue", "", nil},
		{"broadcast unknown product", call, "PublishBroadcastMessage", map[string]any{"ProductId": "NOSUCHPROD", "Payload": "x", "Qos": 0}, "ResourceNotFound.StudioProductNotExist", "", nil},
		{"broadcast running", busy, "PublishBroadcastMessage", map[string]any{"ProductId": busyPID, "Payload": "x", "Qos": 0}, "FailedOperation.BroadcastTaskIsRunning", "", nil},
		{"config set", call, "ModifyRemoteConfig", map[string]any{"ProductId": pid, "Enabled": true, "Payload": `{"a":1}`}, "", "Config", map[string]any{"ProductId": pid, "DeviceName": "", "Enabled": true, "Payload": `{"a":1}`, "UpdateTime": float64(0)}},
		{"config not object", call, "ModifyRemoteConfig", map[string]any{"ProductId": pid, "Enabled": true, "Payload": `[]`}, "InvalidParameterValue", "", nil},
		{"config unknown device", call, "ModifyRemoteConfig", map[string]any{"ProductId": pid, "DeviceName": "nope", "Enabled": true, "Payload": `{}`}, "ResourceNotFound.DeviceNotExist", "", nil},
		{"config missing", call, "DescribeRemoteConfig", map[string]any{"ProductId": pid}, "ResourceNotFound.RemoteConfigNotExist", "", nil},
		{"config push disabled", call, "PushRemoteConfig", map[string]any{"ProductId": pid}, "FailedOperation", "", nil},
		{"pool", call, "ModifyTWeCallLicensePool", map[string]any{"ProductId": pid, "PkgType": 4, "Total": 1, "ValidDays": 1}, "", "", nil},
		{"pool bad type", call, "ModifyTWeCallLicensePool", map[string]any{"ProductId": pid, "PkgType": 5, "Total": 1, "ValidDays": 1}, "InvalidParameterValue", "", nil},
		{"pool bad days", call, "ModifyTWeCallLicensePool", map[string]any{"ProductId": pid, "PkgType": 0, "Total": 1, "ValidDays": 0}, "InvalidParameterValue", "", nil},
		{"pools", call, "DescribeTWeCallLicensePools", map[string]any{"ProductId": pid}, "", "Pools", []any{map[string]any{"PkgType": float64(1), "Total": float64(4), "Used": float64(0), "ValidDays": float64(0), "UpdateTime": float64(0)}}},
	}
	for _, action := range []string{"PublishRRPCMessage", "CallDeviceRRPCSync", "PublishBroadcastMessage", "ModifyRemoteConfig",
		"DescribeRemoteConfig", "DeleteRemoteConfig", "PushRemoteConfig", "ModifyTWeCallLicensePool", "DescribeTWeCallLicensePools"} {
		tests = append(tests, struct {
			name   string
			call   func(string, map[string]any) (map[string]any, string)
			action string
			req    map[string]any
			code   string
			field  string
			want   any
		}{"disabled " + action, none, action, map[string]any{"ProductId": pid, "DeviceName": "dev", "Payload": "{}", "Qos": 0,
			"Enabled": true, "PkgType": 1, "Total": 1, "ValidDays": 1}, "UnsupportedOperation", "", nil})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, code := tc.call(tc.action, tc.req)
			if code != tc.code {
				t.Fatalf("code = %q, want %q", code, tc.code)
			}
			if tc.field != "" {
				if got := resp[tc.field]; !equalJSON(got, tc.want) {
					t.Errorf("%s = %#v, want %#v", tc.field, got, tc.want)
				}
			}
		})
	}
}

func equalJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
