package sdk

import (
	"context"
	"errors"
	"net/http"

	"github.com/thingo-iot/thingo/protocol"
)

// Sub-device OTA (PROTOCOL.md §7, §13.6): the gateway uses the
// sub-device's own `$ota/update/{subPid}/{subDn}` and
// `$ota/report/{subPid}/{subDn}` topics on its connection, and the platform
// accepts them while the sub-device is online through the gateway.

// OnFirmwareUpdate subscribes the sub-device's `$ota/update` topic and calls
// h for every update_firmware push to the sub-device (Client.OnFirmwareUpdate).
// Like Subscribe, the subscription is made while the sub-device is online
// and renewed each time it comes online again; call it before Online and
// ReportVersion so that the platform's answer to the version report is
// received.
func (s *SubDeviceClient) OnFirmwareUpdate(ctx context.Context, h OTAHandler) error {
	if h == nil {
		return errors.New("sdk: OnFirmwareUpdate: nil handler")
	}
	topic := protocol.FamilyTopic(protocol.FamilyOTA, protocol.Down, s.id.ProductID, s.id.DeviceName)
	return s.Subscribe(ctx, topic, s.g.c.otaHandler(h))
}

// ReportVersion reports the sub-device's running firmware version
// (Client.ReportVersion). The sub-device must be online.
func (s *SubDeviceClient) ReportVersion(ctx context.Context, version string) error {
	return s.g.c.reportVersion(ctx, s.id.ProductID, s.id.DeviceName, version)
}

// ReportOTAProgress reports the progress of the sub-device's upgrade to
// version (Client.ReportOTAProgress).
func (s *SubDeviceClient) ReportOTAProgress(ctx context.Context, version string, p OTAProgress) error {
	return s.g.c.reportOTAProgress(ctx, s.id.ProductID, s.id.DeviceName, version, p)
}

// DownloadFirmware downloads the sub-device's firmware of u to path with
// resume and MD5 check, reporting its progress as the sub-device
// (Client.DownloadFirmware). The gateway typically then transfers the file
// to the sub-device and reports burning and done.
func (s *SubDeviceClient) DownloadFirmware(ctx context.Context, u OTAUpdate, path string, hc *http.Client) error {
	return s.g.c.downloadFirmware(ctx, s.id.ProductID, s.id.DeviceName, u, path, hc)
}
