package sdk

import (
	"fmt"
	"os"
)

// SubDevices returns the gateway's sub-devices listed in subDev, e.g. to
// bring them online with Gateway.Online. As in the C SDK, only the first
// subdev_num entries count (all of them when subdev_num is 0 or exceeds
// the list); entries without a product id or device name (the C SDK's
// template has such placeholders) are skipped. It returns nil without a
// subDev object.
//
// The list carries no secrets: the C SDK binds a sub-device with the
// sub-device's own device_info.json (`gateway_sample -b file`), which
// SubDeviceCredentials turns into Gateway.BindSubDevices input.
func (d DeviceInfo) SubDevices() []SubDevice {
	if d.SubDev == nil {
		return nil
	}
	list := d.SubDev.List
	if d.SubDev.Num > 0 && d.SubDev.Num < len(list) {
		list = list[:d.SubDev.Num]
	}
	out := make([]SubDevice, 0, len(list))
	for _, s := range list {
		if s.ProductID != "" && s.DeviceName != "" {
			out = append(out, s)
		}
	}
	return out
}

// SubDeviceCredentials returns the device of d, a sub-device's own
// device_info.json, as the credentials Gateway.BindSubDevices signs with:
// the device secret of a KEY device, the certificate file's content (read
// now, relative to the JSON file's directory) of a CERT device.
func (d DeviceInfo) SubDeviceCredentials() (SubDeviceCredentials, error) {
	if err := d.check(); err != nil {
		return SubDeviceCredentials{}, err
	}
	c := SubDeviceCredentials{ProductID: d.ProductID, DeviceName: d.DeviceName}
	switch d.AuthMode {
	case AuthModeKey:
		c.DeviceSecret = d.Key.DeviceSecret
	case AuthModeCert:
		pem, err := os.ReadFile(d.resolve(d.Cert.CertFile))
		if err != nil {
			return SubDeviceCredentials{}, fmt.Errorf("sdk: sub-device %s/%s certificate: %w", d.ProductID, d.DeviceName, err)
		}
		if len(pem) == 0 {
			return SubDeviceCredentials{}, fmt.Errorf("%w: sub-device %s/%s: empty certificate file", ErrBadDeviceInfo, d.ProductID, d.DeviceName)
		}
		c.CertPEM = pem
	}
	return c, nil
}

// LoadSubDeviceCredentials reads the device_info.json files of sub-devices
// (one file per sub-device) and returns their bind credentials in order.
func LoadSubDeviceCredentials(paths ...string) ([]SubDeviceCredentials, error) {
	out := make([]SubDeviceCredentials, 0, len(paths))
	for _, p := range paths {
		info, err := LoadDeviceInfo(p)
		if err != nil {
			return nil, err
		}
		c, err := info.SubDeviceCredentials()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, c)
	}
	return out, nil
}
