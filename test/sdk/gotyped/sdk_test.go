package gotyped

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	iot "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/iotexplorer/v20190423"

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

func newClient(t *testing.T, s *apitest.Server, secretKey, method string) *iot.Client {
	t.Helper()
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = s.Host
	cpf.HttpProfile.Scheme = "HTTP"
	cpf.HttpProfile.ReqMethod = method
	c, err := iot.NewClient(common.NewCredential(apitest.SecretID, secretKey), "ap-guangzhou", cpf)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func code(t *testing.T, err error) string {
	t.Helper()
	var e *sdkerrors.TencentCloudSDKError
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a TencentCloudSDKError", err)
	}
	if e.GetRequestId() == "" {
		t.Errorf("error %s without RequestId", e.GetCode())
	}
	return e.GetCode()
}

// must(call(...))(t) fails the test when call returned an error.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestTypedClientLifecycle(t *testing.T) {
	s := newServer(t)
	c := newClient(t, s, apitest.SecretKey, "POST")

	preq := iot.NewCreateProjectRequest()
	preq.ProjectName, preq.ProjectDesc = common.StringPtr("home"), common.StringPtr("typed sdk")
	prj := must(c.CreateProject(preq))(t).Response.Project
	if *prj.ProjectName != "home" || *prj.CreateTime == 0 {
		t.Fatalf("project %+v", prj)
	}

	newProduct := func(name, enc string) string {
		r := iot.NewCreateStudioProductRequest()
		r.ProductName, r.CategoryId, r.ProductType = common.StringPtr(name), common.Int64Ptr(1), common.Int64Ptr(0)
		r.EncryptionType, r.NetType, r.DataProtocol = common.StringPtr(enc), common.StringPtr("wifi"), common.Int64Ptr(1)
		r.ProductDesc, r.ProjectId = common.StringPtr(""), prj.ProjectId
		p := must(c.CreateStudioProduct(r))(t).Response.Product
		if *p.EncryptionType != enc || *p.DevStatus != "dev" || len(*p.ProductId) != 10 {
			t.Fatalf("product %+v", p)
		}
		return *p.ProductId
	}
	keyPID, certPID := newProduct("lamp", "2"), newProduct("camera", "1")

	dreq := iot.NewCreateDeviceRequest()
	dreq.ProductId, dreq.DeviceName = &keyPID, common.StringPtr("dev1")
	dev := must(c.CreateDevice(dreq))(t).Response.Data
	if dev.DevicePsk == nil || len(*dev.DevicePsk) != 24 {
		t.Fatalf("device %+v", dev)
	}
	dreq.DeviceName = common.StringPtr("dev2") // v1.0.162 has no DefinedPsk; gocommon tests it
	must(c.CreateDevice(dreq))(t)
	creq := iot.NewCreateDeviceRequest()
	creq.ProductId, creq.DeviceName = &certPID, common.StringPtr("cam1")
	cam := must(c.CreateDevice(creq))(t).Response.Data
	if !strings.Contains(*cam.DeviceCert, "BEGIN CERTIFICATE") || !strings.Contains(*cam.DevicePrivateKey, "PRIVATE KEY") {
		t.Fatalf("cert device %+v", cam)
	}

	desc := iot.NewDescribeDeviceRequest()
	desc.ProductId, desc.DeviceName = &keyPID, common.StringPtr("dev1")
	info := must(c.DescribeDevice(desc))(t).Response.Device
	if *info.DevicePsk != *dev.DevicePsk || *info.Status != 3 {
		t.Errorf("DescribeDevice %+v", info)
	}

	list := iot.NewGetDeviceListRequest()
	list.ProductId, list.Limit, list.DeviceName = &keyPID, common.Int64Ptr(10), common.StringPtr("dev")
	devs := must(c.GetDeviceList(list))(t).Response
	if *devs.Total != 2 || len(devs.Devices) != 2 || *devs.Devices[0].DevicePsk != "" {
		t.Errorf("GetDeviceList total %d", *devs.Total)
	}

	dp := iot.NewDescribeProjectRequest()
	dp.ProjectId = prj.ProjectId
	if p := must(c.DescribeProject(dp))(t).Response.Project; *p.ProductCount != 2 {
		t.Errorf("DescribeProject %+v", p)
	}
	pl := iot.NewGetProjectListRequest()
	if r := must(c.GetProjectList(pl))(t).Response; *r.Total != 1 {
		t.Errorf("GetProjectList total %d", *r.Total)
	}
	spl := iot.NewGetStudioProductListRequest()
	spl.ProjectId = prj.ProjectId
	if r := must(c.GetStudioProductList(spl))(t).Response; *r.Total != 2 {
		t.Errorf("GetStudioProductList total %d", *r.Total)
	}
	ms := iot.NewModifyStudioProductRequest()
	ms.ProductId, ms.ProductName, ms.ProductDesc, ms.ModuleId = &keyPID, common.StringPtr("lamp2"), common.StringPtr("x"), common.Int64Ptr(0)
	if p := must(c.ModifyStudioProduct(ms))(t).Response.Product; *p.ProductName != "lamp2" {
		t.Errorf("ModifyStudioProduct %+v", p)
	}
	rel := iot.NewReleaseStudioProductRequest()
	rel.ProductId, rel.DevStatus = &keyPID, common.StringPtr("released")
	must(c.ReleaseStudioProduct(rel))(t)
	dsp := iot.NewDescribeStudioProductRequest()
	dsp.ProductId = &keyPID
	if p := must(c.DescribeStudioProduct(dsp))(t).Response.Product; *p.DevStatus != "released" {
		t.Errorf("DevStatus %s", *p.DevStatus)
	}

	pub := iot.NewPublishMessageRequest()
	pub.ProductId, pub.DeviceName = &keyPID, common.StringPtr("dev1")
	pub.Topic, pub.Payload = common.StringPtr(keyPID+"/dev1/control"), common.StringPtr(`{"on":1}`)
	if _, err := c.PublishMessage(pub); code(t, err) != "FailedOperation.DeviceOffline" {
		t.Errorf("PublishMessage offline: %v", err)
	}
	s.Sessions.SetOnline(keyPID, "dev1", true)
	must(c.PublishMessage(pub))(t)

	// The same client over GET with flattened query parameters.
	g := newClient(t, s, apitest.SecretKey, "GET")
	if r := must(g.GetDeviceList(list))(t).Response; *r.Total != 2 {
		t.Errorf("GET GetDeviceList total %d", *r.Total)
	}

	// Errors.
	desc.DeviceName = common.StringPtr("missing")
	if _, err := c.DescribeDevice(desc); code(t, err) != "ResourceNotFound.DeviceNotExist" {
		t.Errorf("missing device: %v", err)
	}
	dreq.DeviceName = common.StringPtr("bad name!")
	if _, err := c.CreateDevice(dreq); code(t, err) != "InvalidParameterValue" {
		t.Errorf("bad name: %v", err)
	}
	bad := newClient(t, s, "wrong-key", "POST")
	if _, err := bad.GetProjectList(pl); code(t, err) != "AuthFailure.SignatureFailure" {
		t.Errorf("wrong secret key: %v", err)
	}
	dps := iot.NewDeleteStudioProductRequest()
	dps.ProductId = &keyPID
	if _, err := c.DeleteStudioProduct(dps); code(t, err) != "UnsupportedOperation.DevicesExistUnderProduct" {
		t.Errorf("delete product with devices: %v", err)
	}

	// Tear down.
	for _, d := range [][2]string{{keyPID, "dev1"}, {keyPID, "dev2"}, {certPID, "cam1"}} {
		r := iot.NewDeleteDeviceRequest()
		r.ProductId, r.DeviceName = &d[0], &d[1]
		must(c.DeleteDevice(r))(t)
	}
	for _, pid := range []string{keyPID, certPID} {
		r := iot.NewDeleteStudioProductRequest()
		r.ProductId = &pid
		must(c.DeleteStudioProduct(r))(t)
	}
	dpr := iot.NewDeleteProjectRequest()
	dpr.ProjectId = prj.ProjectId
	must(c.DeleteProject(dpr))(t)
	if _, err := c.DescribeProject(dp); code(t, err) != "ResourceNotFound.ProjectNotExist" {
		t.Errorf("deleted project: %v", err)
	}
}
