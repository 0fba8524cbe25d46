package sdk_test

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/thingo-iot/thingo/sdk"
)

func TestLoadDeviceInfo(t *testing.T) {
	tests := []struct {
		file string
		want sdk.Config
	}{
		{"device_info_key.json", sdk.Config{ProductID: "AB12CD34EF", DeviceName: "dev001",
			DeviceSecret: "MDEyMzQ1Njc4OWFiY2RlZg==", Broker: "tcp://h:1883"}},
		{"device_info_cert.json", sdk.Config{ProductID: "AB12CD34EF", DeviceName: "camera1",
			CertFile: filepath.Join("testdata", "camera1_cert.crt"), KeyFile: "/abs/camera1_private.key", Broker: "tcp://h:1883"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			info, err := sdk.LoadDeviceInfo(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Config("tcp://h:1883"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Config = %+v, want %+v", got, tt.want)
			}
			// Round trip through Save.
			path := filepath.Join(t.TempDir(), "device_info.json")
			if err := info.Save(path); err != nil {
				t.Fatal(err)
			}
			again, err := sdk.LoadDeviceInfo(path)
			if err != nil {
				t.Fatal(err)
			}
			if again.ProductID != info.ProductID || again.Key != info.Key || again.Cert != info.Cert ||
				!reflect.DeepEqual(again.SubDev, info.SubDev) || again.Region != info.Region {
				t.Errorf("round trip: %+v, want %+v", again, info)
			}
		})
	}
}

func TestParseDeviceInfoRejects(t *testing.T) {
	for _, in := range []string{
		`not json`,
		`{"auth_mode":"PSK","productId":"AB12CD34EF","deviceName":"d","key_deviceinfo":{"deviceSecret":"x"}}`,
		`{"auth_mode":"KEY","productId":"AB12CD34EF","deviceName":"d"}`,
		`{"auth_mode":"CERT","productId":"AB12CD34EF","deviceName":"d","cert_deviceinfo":{"devCertFile":"a"}}`,
		`{"auth_mode":"KEY","deviceName":"d","key_deviceinfo":{"deviceSecret":"x"}}`,
	} {
		if _, err := sdk.ParseDeviceInfo([]byte(in)); !errors.Is(err, sdk.ErrBadDeviceInfo) {
			t.Errorf("ParseDeviceInfo(%s) = %v, want ErrBadDeviceInfo", in, err)
		}
	}
	if _, err := sdk.LoadDeviceInfo(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file loaded")
	}
}

func FuzzParseDeviceInfo(f *testing.F) {
	f.Add([]byte(`{"auth_mode":"KEY","productId":"AB12CD34EF","deviceName":"d","key_deviceinfo":{"deviceSecret":"x"}}`))
	f.Add([]byte(`{"auth_mode":"CERT","productId":"P","deviceName":"d","cert_deviceinfo":{"devCertFile":"a","devPrivateKeyFile":"b"}}`))
	f.Add([]byte(`{"auth_mode":"KEY","productId":"P","deviceName":"d","key_deviceinfo":{"deviceSecret":"x"},"subDev":{"subdev_num":9,"subdev_list":[{"sub_productId":"S","sub_devName":"s1"},{}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := sdk.ParseDeviceInfo(b)
		if err != nil {
			return
		}
		if info.AuthMode != sdk.AuthModeKey && info.AuthMode != sdk.AuthModeCert {
			t.Fatalf("accepted auth_mode %q", info.AuthMode)
		}
		_ = info.Config("tcp://h:1883")
		for _, sd := range info.SubDevices() {
			if sd.ProductID == "" || sd.DeviceName == "" {
				t.Fatalf("SubDevices returned an empty entry %+v", sd)
			}
		}
	})
}
