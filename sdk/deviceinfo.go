package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Auth modes of device_info.json.
const (
	AuthModeKey  = "KEY"
	AuthModeCert = "CERT"
)

// ErrBadDeviceInfo is wrapped by every device_info.json error.
var ErrBadDeviceInfo = errors.New("sdk: bad device info")

// DeviceInfo is the C SDK's device_info.json (qcloud-iot-explorer-sdk-embedded-c),
// so that one file configures either SDK:
//
//	{
//	  "auth_mode": "KEY",                 // "KEY" (PSK) or "CERT"
//	  "productId": "AB12CD34EF",
//	  "productSecret": "...",             // dynamic registration only
//	  "deviceName": "dev001",
//	  "region": "china",                  // kept, unused by Thingo
//	  "key_deviceinfo": {"deviceSecret": "base64 PSK"},
//	  "cert_deviceinfo": {"devCertFile": "dev001_cert.crt", "devPrivateKeyFile": "dev001_private.key"},
//	  "subDev": {"subdev_num": 1, "subdev_list": [{"sub_productId": "...", "sub_devName": "..."}]}
//	}
//
// subDev is the gateway's list of sub-devices (SubDevices); a sub-device's
// own device_info.json gives the credentials that bind it
// (SubDeviceCredentials), as with the C SDK's `gateway_sample -b file`.
//
// Certificate file names are relative to the JSON file's directory when not
// absolute. Unknown fields are ignored on reading.
type DeviceInfo struct {
	AuthMode      string         `json:"auth_mode"`
	ProductID     string         `json:"productId"`
	ProductSecret string         `json:"productSecret,omitempty"`
	DeviceName    string         `json:"deviceName"`
	Region        string         `json:"region,omitempty"`
	Key           KeyDeviceInfo  `json:"key_deviceinfo"`
	Cert          CertDeviceInfo `json:"cert_deviceinfo"`
	SubDev        *SubDevices    `json:"subDev,omitempty"`

	// dir is the directory relative certificate paths resolve against.
	dir string
}

// KeyDeviceInfo is the key_deviceinfo object.
type KeyDeviceInfo struct {
	DeviceSecret string `json:"deviceSecret"`
}

// CertDeviceInfo is the cert_deviceinfo object.
type CertDeviceInfo struct {
	CertFile string `json:"devCertFile"`
	KeyFile  string `json:"devPrivateKeyFile"`
}

// SubDevices is the subDev object of gateway devices. The C SDK reads the
// first Num entries of List.
type SubDevices struct {
	Num  int         `json:"subdev_num"`
	List []SubDevice `json:"subdev_list"`
}

// SubDevice is one entry of subdev_list (and the identity of a sub-device
// in gateway operations).
type SubDevice struct {
	ProductID  string `json:"sub_productId"`
	DeviceName string `json:"sub_devName"`
}

// LoadDeviceInfo reads and checks a device_info.json file.
func LoadDeviceInfo(path string) (DeviceInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("sdk: read device info: %w", err)
	}
	info, err := ParseDeviceInfo(b)
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	info.dir = filepath.Dir(path)
	return info, nil
}

// ParseDeviceInfo decodes and checks device_info.json content. Relative
// certificate paths resolve against the working directory.
func ParseDeviceInfo(b []byte) (DeviceInfo, error) {
	var info DeviceInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return DeviceInfo{}, fmt.Errorf("%w: %w", ErrBadDeviceInfo, err)
	}
	if err := info.check(); err != nil {
		return DeviceInfo{}, err
	}
	return info, nil
}

func (d DeviceInfo) check() error {
	switch d.AuthMode {
	case AuthModeKey:
		if d.Key.DeviceSecret == "" {
			return fmt.Errorf("%w: auth_mode KEY without key_deviceinfo.deviceSecret", ErrBadDeviceInfo)
		}
	case AuthModeCert:
		if d.Cert.CertFile == "" || d.Cert.KeyFile == "" {
			return fmt.Errorf("%w: auth_mode CERT without cert_deviceinfo files", ErrBadDeviceInfo)
		}
	default:
		return fmt.Errorf("%w: auth_mode %q (want KEY or CERT)", ErrBadDeviceInfo, d.AuthMode)
	}
	if d.ProductID == "" || d.DeviceName == "" {
		return fmt.Errorf("%w: productId and deviceName are required", ErrBadDeviceInfo)
	}
	return nil
}

// Save writes d as device_info.json (mode 0600: it holds secrets).
func (d DeviceInfo) Save(path string) error {
	if err := d.check(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(d, "", "    ")
	if err != nil {
		return fmt.Errorf("sdk: encode device info: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("sdk: write device info: %w", err)
	}
	return nil
}

// Config returns a client configuration for the device of d and the given
// broker URL; set the remaining fields (CA, logger...) on the result. A key
// device with an ssl:// broker gets TLSPSK, as the C SDK's "AUTH_MODE_KEY
// with TLS" build authenticates with TLS-PSK (clear TLSPSK for certificate
// TLS with a signed password instead).
func (d DeviceInfo) Config(broker string) Config {
	cfg := Config{ProductID: d.ProductID, DeviceName: d.DeviceName, Broker: broker}
	switch d.AuthMode {
	case AuthModeKey:
		cfg.DeviceSecret = d.Key.DeviceSecret
		cfg.TLSPSK = strings.HasPrefix(broker, "ssl://")
	case AuthModeCert:
		cfg.CertFile, cfg.KeyFile = d.resolve(d.Cert.CertFile), d.resolve(d.Cert.KeyFile)
	}
	return cfg
}

func (d DeviceInfo) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) || d.dir == "" {
		return p
	}
	return filepath.Join(d.dir, p)
}
