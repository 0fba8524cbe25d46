package sdk_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/thingo-iot/thingo/sdk"
)

func TestDeviceInfoSubDevices(t *testing.T) {
	base := `{"auth_mode":"KEY","productId":"GWPID00001","deviceName":"gw","key_deviceinfo":{"deviceSecret":"x"}`
	a := sdk.SubDevice{ProductID: "SUBPID0001", DeviceName: "a"}
	b := sdk.SubDevice{ProductID: "SUBPID0001", DeviceName: "b"}
	tests := []struct {
		name, json string
		want       []sdk.SubDevice
	}{
		{"no subDev", base + `}`, nil},
		{"all", base + `,"subDev":{"subdev_num":2,"subdev_list":[{"sub_productId":"SUBPID0001","sub_devName":"a"},{"sub_productId":"SUBPID0001","sub_devName":"b"}]}}`, []sdk.SubDevice{a, b}},
		{"num limits", base + `,"subDev":{"subdev_num":1,"subdev_list":[{"sub_productId":"SUBPID0001","sub_devName":"a"},{"sub_productId":"SUBPID0001","sub_devName":"b"}]}}`, []sdk.SubDevice{a}},
		{"num past the list", base + `,"subDev":{"subdev_num":8,"subdev_list":[{"sub_productId":"SUBPID0001","sub_devName":"b"}]}}`, []sdk.SubDevice{b}},
		{"num missing", base + `,"subDev":{"subdev_list":[{"sub_productId":"SUBPID0001","sub_devName":"a"}]}}`, []sdk.SubDevice{a}},
		{"placeholders skipped", base + `,"subDev":{"subdev_num":3,"subdev_list":[{"sub_productId":"","sub_devName":""},{"sub_productId":"SUBPID0001"},{"sub_productId":"SUBPID0001","sub_devName":"b"}]}}`, []sdk.SubDevice{b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := sdk.ParseDeviceInfo([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			got := info.SubDevices()
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("SubDevices = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDeviceInfoGatewayFile reads a gateway device_info.json in the C SDK's
// layout and keeps its subDev list through Save.
func TestDeviceInfoGatewayFile(t *testing.T) {
	info, err := sdk.LoadDeviceInfo(filepath.Join("testdata", "device_info_gateway.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []sdk.SubDevice{
		{ProductID: "SUBPID0001", DeviceName: "lamp1"},
		{ProductID: "SUBPID0001", DeviceName: "lamp2"},
		{ProductID: "SUBPID0002", DeviceName: "plug1"},
	}
	if got := info.SubDevices(); !reflect.DeepEqual(got, want) {
		t.Fatalf("SubDevices = %v, want %v", got, want)
	}
	path := filepath.Join(t.TempDir(), "device_info.json")
	if err := info.Save(path); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"subdev_num": 4`, `"subdev_list"`, `"sub_productId"`, `"sub_devName"`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("saved file lacks %s:\n%s", key, raw)
		}
	}
	again, err := sdk.LoadDeviceInfo(path)
	if err != nil || !reflect.DeepEqual(again.SubDevices(), want) {
		t.Fatalf("after Save: %v, %v", again.SubDevices(), err)
	}
}

func TestSubDeviceCredentials(t *testing.T) {
	dir := t.TempDir()
	certPEM := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	if err := os.WriteFile(filepath.Join(dir, "s2_cert.crt"), []byte(certPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"key.json":     `{"auth_mode":"KEY","productId":"SUBPID0001","deviceName":"s1","key_deviceinfo":{"deviceSecret":"c2VjcmV0"}}`,
		"cert.json":    `{"auth_mode":"CERT","productId":"SUBPID0001","deviceName":"s2","cert_deviceinfo":{"devCertFile":"s2_cert.crt","devPrivateKeyFile":"s2_private.key"}}`,
		"nocert.json":  `{"auth_mode":"CERT","productId":"SUBPID0001","deviceName":"s3","cert_deviceinfo":{"devCertFile":"missing.crt","devPrivateKeyFile":"k"}}`,
		"invalid.json": `{"auth_mode":"KEY","productId":"SUBPID0001","deviceName":"s4"}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		file    string
		want    sdk.SubDeviceCredentials
		wantErr bool
	}{
		{"key.json", sdk.SubDeviceCredentials{ProductID: "SUBPID0001", DeviceName: "s1", DeviceSecret: "c2VjcmV0"}, false},
		{"cert.json", sdk.SubDeviceCredentials{ProductID: "SUBPID0001", DeviceName: "s2", CertPEM: []byte(certPEM)}, false},
		{"nocert.json", sdk.SubDeviceCredentials{}, true},
		{"invalid.json", sdk.SubDeviceCredentials{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := sdk.LoadSubDeviceCredentials(filepath.Join(dir, tt.file))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("LoadSubDeviceCredentials = %+v, want an error", got)
				}
				return
			}
			if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
				t.Fatalf("LoadSubDeviceCredentials = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	// A DeviceInfo that fails its checks is ErrBadDeviceInfo.
	if _, err := (sdk.DeviceInfo{AuthMode: "KEY"}).SubDeviceCredentials(); !errors.Is(err, sdk.ErrBadDeviceInfo) {
		t.Fatalf("SubDeviceCredentials of an empty DeviceInfo: %v", err)
	}
}
