package gocommon

import (
	"encoding/json"
	"testing"
	"time"
)

// Gateway response shapes mirroring tencentcloud-sdk-go iotexplorer
// models.go (shared/reference/tencent-cloud-api-models.md). The typed SDK
// pinned in test/sdk/gotyped (v1.0.162) has none of the gateway actions, so
// they are checked here through the generic client.
type (
	familySubDevice struct {
		ProductId, DeviceName, DeviceId, AliasName, FamilyId, RoomId, IconUrl, IconUrlGrid *string
		CreateTime, UpdateTime                                                             *uint64
	}
	// DeviceList is a *FamilySubDevice (an object) in the SDK: an array
	// here fails to decode, as it does in the typed SDK.
	getGatewaySubDeviceListResponse struct {
		Total      *int64
		DeviceList *familySubDevice
	}
	describeGatewaySubDeviceListResponse struct {
		Total      *int64
		DeviceList []*familySubDevice
	}
	bindDeviceInfo                     struct{ ProductId, DeviceName *string }
	describeGatewayBindDevicesResponse struct {
		Devices     []*bindDeviceInfo
		Total       *int64
		ProductName *string
	}
	bindProductInfo struct {
		ProductId, ProductName, ProjectId *string
		DataProtocol, CategoryId          *int64
		ProductType                       *int64
		NetType, DevStatus                *string
		ProductOwnerName                  *string
	}
	describeBindedProductsResponse struct {
		Products []*bindProductInfo
		Total    *int64
	}
	describeGatewaySubProductsResponse struct {
		Products []*bindProductInfo
		Total    *uint64
	}
	describeDeviceBindGatewayResponse struct {
		GatewayProductId, GatewayDeviceName, GatewayName, GatewayProductOwnerName, GatewayProductOwnerUin *string
	}
	unbindProductsResponse struct{ GatewayDeviceNames []*string }
	deviceTypeResponse     struct{ Device *struct{ DeviceType *string } }
)

// TestFullNodeGateways drives the gateway actions of a full node through the
// official generic client with the SDK's typed shapes, and the Thingo
// action SearchGatewaySubDevices with a connected gateway.
func TestFullNodeGateways(t *testing.T) {
	n := startNode(t)
	c := n.client(t)
	prj := obj(c.ok("CreateProject", map[string]any{"ProjectName": "sdk", "ProjectDesc": "gateways"})["Project"])
	product := func(name string, typ int) string {
		p := obj(c.ok("CreateStudioProduct", map[string]any{"ProductName": name, "CategoryId": 1, "ProductType": typ,
			"EncryptionType": "2", "NetType": "wifi", "DataProtocol": 1, "ProductDesc": "", "ProjectId": prj["ProjectId"]})["Product"])
		return p["ProductId"].(string)
	}
	gwPID, subPID := product("hub", 5), product("bulb", 0)
	gwPSK := obj(c.ok("CreateDevice", map[string]any{"ProductId": gwPID, "DeviceName": "gw1"})["Data"])["DevicePsk"].(string)
	for _, dn := range []string{"sub1", "sub2"} {
		c.ok("CreateDevice", map[string]any{"ProductId": subPID, "DeviceName": dn})
	}

	c.typed("BindProducts", map[string]any{"GatewayProductId": gwPID, "ProductIds": []string{subPID}}, &emptyResponse{})
	var binded describeBindedProductsResponse
	c.typed("DescribeBindedProducts", map[string]any{"GatewayProductId": gwPID, "Offset": 0, "Limit": 10}, &binded)
	if binded.Total == nil || *binded.Total != 1 || len(binded.Products) != 1 || str(binded.Products[0].ProductId) != subPID {
		t.Errorf("DescribeBindedProducts = %+v", binded)
	}
	var subProducts describeGatewaySubProductsResponse
	c.typed("DescribeGatewaySubProducts", map[string]any{"GatewayProductId": gwPID, "Offset": 0, "Limit": 10}, &subProducts)
	if subProducts.Total == nil || *subProducts.Total != 1 {
		t.Errorf("DescribeGatewaySubProducts = %+v", subProducts)
	}

	gw := map[string]any{"GatewayProductId": gwPID, "GatewayDeviceName": "gw1"}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range gw {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	c.typed("BindDevices", with("ProductId", subPID, "DeviceNames", []string{"sub1", "sub2"}), &emptyResponse{})

	var list getGatewaySubDeviceListResponse
	c.typed("GetGatewaySubDeviceList", with("Offset", 0, "Limit", 10), &list)
	if list.Total == nil || *list.Total != 2 || list.DeviceList == nil || str(list.DeviceList.DeviceName) != "sub1" ||
		str(list.DeviceList.ProductId) != subPID || list.DeviceList.CreateTime == nil {
		b, _ := json.Marshal(list)
		t.Errorf("GetGatewaySubDeviceList = %s", b)
	}
	var family describeGatewaySubDeviceListResponse
	c.typed("DescribeGatewaySubDeviceList", with("Offset", 0, "Limit", 10), &family)
	if family.Total == nil || *family.Total != 2 || len(family.DeviceList) != 2 || str(family.DeviceList[1].DeviceName) != "sub2" {
		t.Errorf("DescribeGatewaySubDeviceList = %+v", family)
	}
	var bound describeGatewayBindDevicesResponse
	c.typed("DescribeGatewayBindDevices", with("ProductId", subPID, "Offset", 0, "Limit", 1), &bound)
	if bound.Total == nil || *bound.Total != 2 || len(bound.Devices) != 1 || str(bound.ProductName) != "bulb" {
		t.Errorf("DescribeGatewayBindDevices = %+v", bound)
	}
	var bindGW describeDeviceBindGatewayResponse
	c.typed("DescribeDeviceBindGateway", map[string]any{"ProductId": subPID, "DeviceName": "sub2"}, &bindGW)
	if str(bindGW.GatewayProductId) != gwPID || str(bindGW.GatewayDeviceName) != "gw1" || str(bindGW.GatewayName) != "hub" {
		t.Errorf("DescribeDeviceBindGateway = %+v", bindGW)
	}
	for _, tc := range []struct{ pid, dn, want string }{{subPID, "sub1", "sub-device"}, {gwPID, "gw1", "gateway"}} {
		var dt deviceTypeResponse
		c.typed("DescribeDevice", map[string]any{"ProductId": tc.pid, "DeviceName": tc.dn}, &dt)
		if dt.Device == nil || str(dt.Device.DeviceType) != tc.want {
			t.Errorf("DescribeDevice %s: DeviceType %v, want %s", tc.dn, dt.Device, tc.want)
		}
	}

	// SearchGatewaySubDevices (Thingo): offline, then to a connected gateway.
	c.fails("SearchGatewaySubDevices", with("Status", 1), "FailedOperation.DeviceOffline")
	d := connectDevice(t, n, gwPID, "gw1", gwPSK)
	result := "$gateway/operation/result/" + gwPID + "/gw1"
	if tok := d.c.Subscribe(result, 0, d.handle); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", result, tok.Error())
	}
	c.typed("SearchGatewaySubDevices", with("Status", 1), &emptyResponse{})
	d.await(result, `{"type":"search_devices","payload":{"status":1}}`)

	c.typed("UnbindDevices", with("ProductId", subPID, "DeviceNames", []string{"sub1"}), &emptyResponse{})
	d.await(result, `"type":"change"`, `"status":0`, `"sub1"`)
	c.typed("GetGatewaySubDeviceList", with("Offset", 0, "Limit", 10), &list)
	if list.Total == nil || *list.Total != 1 || list.DeviceList == nil || str(list.DeviceList.DeviceName) != "sub2" {
		t.Errorf("GetGatewaySubDeviceList after unbind = %+v", list)
	}
	var unbound unbindProductsResponse
	c.typed("UnbindProducts", map[string]any{"GatewayProductId": gwPID, "ProductIds": []string{subPID}}, &unbound)
	if unbound.GatewayDeviceNames == nil {
		t.Error("UnbindProducts: GatewayDeviceNames missing")
	}
}
