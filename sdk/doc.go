// Package sdk is Thingo's Go device SDK: an MQTT client for devices of a
// Thingo (or Tencent Cloud IoT Explorer) platform.
//
// It signs the CONNECT credentials (key devices), presents the device
// certificate (certificate devices) or authenticates with TLS-PSK
// (Config.TLSPSK, the C SDK's "TLS + key" mode) as PROTOCOL.md §1 and §13.2
// describe, reconnects automatically with a jittered backoff from 1 s to
// 60 s and resubscribes everything it subscribed, offers generic
// publish/subscribe, the thing-model property, event (one at a time or in
// batches with PostEvents) and action messages of §5 and §13.5, and the
// `$sys` server time of §13.8. Properties and DecodeParams map Go structs
// (json tags = property ids) to report params and from control params. Configuration can come from the C SDK's
// device_info.json (see LoadDeviceInfo), so one file configures both SDKs.
//
// Gateways (§8, §13.7): Client.Gateway binds and unbinds sub-devices with
// signed requests, brings them online and offline, lists them, receives the
// platform's change and search_devices pushes, and hands out a
// SubDeviceClient per sub-device whose thing-model calls travel over the
// gateway's connection, firmware upgrades (OTA) included. Online
// sub-devices are brought online again after every reconnection. A
// gateway's device_info.json lists its sub-devices (DeviceInfo.SubDevices);
// a sub-device's own file gives its bind credentials
// (DeviceInfo.SubDeviceCredentials).
//
// Beyond MQTT it offers dynamic registration (Register for the new API,
// RegisterOld for the old API of the C and Java SDKs; §4 and §13.3, with
// Registration.Save writing device_info.json), OTA upgrades (OnFirmwareUpdate,
// ReportVersion, DownloadFirmware with HTTP Range resume from a state file
// and an MD5 check, ReportOTAProgress; §7 and §13.6), resource management
// (OnResources, ReportResources, DownloadResource, ReportResourceDeleted;
// §10) and log upload over HTTP (UploadLogs, §13.9).
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
