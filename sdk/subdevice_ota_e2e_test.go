package sdk_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/sdk"
)

// uploadFirmware uploads a random firmware of size bytes as version to
// product pid and returns its content.
func (n *node) uploadFirmware(pid, version string, size int) []byte {
	n.t.Helper()
	fw := make([]byte, size)
	_, _ = rand.Read(fw)
	sum := md5.Sum(fw)
	var cos struct{ Url string }
	n.call("GetCOSURL", map[string]any{"ProductID": pid, "FirmwareVersion": version, "FileSize": len(fw)}, &cos)
	req, err := http.NewRequest(http.MethodPut, cos.Url, bytes.NewReader(fw))
	if err != nil {
		n.t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("PUT firmware: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		n.t.Fatalf("PUT firmware: %s", res.Status)
	}
	n.call("UploadFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": version,
		"Md5sum": hex.EncodeToString(sum[:]), "FileSize": len(fw), "FirmwareName": "fw"}, nil)
	return fw
}

// TestE2ESubDeviceOTA configures a gateway from C SDK device_info.json
// files (the gateway's with its subDev list, the sub-device's own for the
// bind signature), binds and brings the sub-device online from them, then
// upgrades the sub-device's firmware over the gateway's connection:
// version report, update_firmware push, download with progress, burning
// and done, until the platform's task is done.
func TestE2ESubDeviceOTA(t *testing.T) {
	n := startNode(t)
	gwPID := n.newModelProduct(5)
	subPID := n.newModelProduct(0)
	n.call("BindProducts", map[string]any{"GatewayProductId": gwPID, "ProductIds": []string{subPID}}, nil)
	gw := n.newDevice(gwPID, "gw1")
	sub := n.newDevice(subPID, "osub1")
	fw := n.uploadFirmware(subPID, "2.0.0", 200_000)

	// The C SDK's files.
	dir := t.TempDir()
	gwPath, subPath := filepath.Join(dir, "device_info.json"), filepath.Join(dir, "sub_device_info.json")
	gwInfo := sdk.DeviceInfo{AuthMode: sdk.AuthModeKey, ProductID: gwPID, DeviceName: gw.DeviceName,
		Key:    sdk.KeyDeviceInfo{DeviceSecret: gw.DevicePsk},
		SubDev: &sdk.SubDevices{Num: 1, List: []sdk.SubDevice{{ProductID: subPID, DeviceName: sub.DeviceName}}}}
	subInfo := sdk.DeviceInfo{AuthMode: sdk.AuthModeKey, ProductID: subPID, DeviceName: sub.DeviceName,
		Key: sdk.KeyDeviceInfo{DeviceSecret: sub.DevicePsk}}
	if err := gwInfo.Save(gwPath); err != nil {
		t.Fatal(err)
	}
	if err := subInfo.Save(subPath); err != nil {
		t.Fatal(err)
	}
	gwInfo, err := sdk.LoadDeviceInfo(gwPath)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := sdk.LoadSubDeviceCredentials(subPath)
	if err != nil {
		t.Fatal(err)
	}

	before := runtime.NumGoroutine()
	c, err := sdk.New(gwInfo.Config(n.url("tcp")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g := c.Gateway()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := g.BindSubDevices(ctx, creds...); err != nil {
		t.Fatalf("bind from sub_device_info.json: %v", err)
	}
	subs := gwInfo.SubDevices()
	if len(subs) != 1 {
		t.Fatalf("SubDevices = %v", subs)
	}
	s := g.SubDevice(subs[0].ProductID, subs[0].DeviceName)
	ups := make(chan sdk.OTAUpdate, 4)
	if err := s.OnFirmwareUpdate(ctx, func(_ context.Context, u sdk.OTAUpdate) { ups <- u }); err != nil {
		t.Fatal(err)
	}
	if err := g.Online(ctx, subs...); err != nil {
		t.Fatalf("online from the subDev list: %v", err)
	}
	if err := s.ReportVersion(ctx, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, func() error {
		var desc struct{ Device struct{ Version string } }
		n.call("DescribeDevice", map[string]any{"ProductId": subPID, "DeviceName": sub.DeviceName}, &desc)
		if desc.Device.Version != "1.0.0" {
			return fmt.Errorf("sub-device version %q", desc.Device.Version)
		}
		return nil
	})

	var task struct{ TaskId uint64 }
	n.call("BatchUpdateFirmware", map[string]any{"ProductID": subPID, "FirmwareVersion": "2.0.0", "FirmwareOriVersion": "1.0.0"}, &task)
	up := recv(t, ups, "update_firmware for the sub-device")
	sum := md5.Sum(fw)
	if up.Version != "2.0.0" || up.FileSize != int64(len(fw)) || up.MD5 != hex.EncodeToString(sum[:]) {
		t.Fatalf("update %+v", up)
	}
	path := filepath.Join(dir, "sub_firmware.bin")
	if err := s.DownloadFirmware(ctx, up, path, nil); err != nil {
		t.Fatalf("sub-device download: %v", err)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, fw) {
		t.Fatalf("downloaded file differs (%d bytes, %v)", len(got), err)
	}
	for _, st := range []string{sdk.OTAStateBurning, sdk.OTAStateDone} {
		if err := s.ReportOTAProgress(ctx, "2.0.0", sdk.OTAProgress{State: st, Percent: 100}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 15*time.Second, func() error {
		var tk struct{ Status int64 }
		n.call("DescribeFirmwareTask", map[string]any{"ProductID": subPID, "FirmwareVersion": "2.0.0", "TaskId": task.TaskId}, &tk)
		if tk.Status != 2 {
			return fmt.Errorf("task status %d, want 2 (done)", tk.Status)
		}
		return nil
	})

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() error {
		if n := runtime.NumGoroutine(); n > before {
			return fmt.Errorf("%d goroutines, %d before", n, before)
		}
		return nil
	})
}
