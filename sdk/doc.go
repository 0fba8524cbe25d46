// Package sdk is Thingo's Go device SDK: an MQTT client for devices of a
// Thingo (or Tencent Cloud IoT Explorer) platform.
//
// It signs the CONNECT credentials (key devices) or presents the device
// certificate (certificate devices) as PROTOCOL.md §1 describes, reconnects
// automatically with a jittered backoff from 1 s to 60 s and resubscribes
// everything it subscribed, offers generic publish/subscribe, the thing-model
// property, event and action messages of §5 and §13.5, and the `$sys` server
// time of §13.8. Configuration can come from the C SDK's device_info.json
// (see LoadDeviceInfo), so one file configures both SDKs.
//
// Beyond MQTT it offers dynamic registration (Register, §4 and §13.3, with
// Registration.Save writing device_info.json), OTA upgrades (OnFirmwareUpdate,
// ReportVersion, DownloadFirmware with HTTP Range resume from a state file
// and an MD5 check, ReportOTAProgress; §7 and §13.6) and log upload over
// HTTP (UploadLogs, §13.9).
//
// A minimal device:
//
//	c, err := sdk.New(sdk.Config{ProductID: pid, DeviceName: dn, DeviceSecret: psk, Broker: "tcp://host:1883"})
//	...
//	c.OnControl(func(ctx context.Context, params map[string]any) (int, string) { ...; return 0, "ok" })
//	if err := c.Connect(ctx); err != nil { ... }
//	defer c.Close()
//	_, err = c.ReportProperties(ctx, map[string]any{"power_switch": 1})
package sdk
