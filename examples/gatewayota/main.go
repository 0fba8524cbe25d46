// Command gatewayota is a gateway configured like the C SDK's gateway
// sample, that upgrades the firmware of its sub-devices over the air:
//
//	go run ./examples/gatewayota -info device_info.json -broker tcp://host:1883 -dir ./subfw \
//	    -bind lamp1_device_info.json -bind lamp2_device_info.json
//
// device_info.json is the gateway's, with the sub-devices in its subDev
// list; each -bind file is a sub-device's own device_info.json, whose
// secret (or certificate) signs its bind request. Sub-devices bound in the
// console need no -bind. The gateway brings the listed sub-devices online,
// reports each one's version stored in {dir}/{product}_{device}.version
// (default 1.0.0), downloads every firmware pushed to a sub-device to
// {dir}/{product}_{device}.bin (resuming a cut download after a restart),
// "flashes" it by storing the new version, and reports the progress as the
// sub-device.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/thingo-iot/thingo/sdk"
)

// files collects repeated -bind flags.
type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(v string) error { *f = append(*f, v); return nil }

func main() {
	info := flag.String("info", "device_info.json", "the gateway's device_info.json, with its subDev list")
	broker := flag.String("broker", "tcp://localhost:1883", "broker URL")
	dir := flag.String("dir", ".", "sub-device firmware directory")
	var bind files
	flag.Var(&bind, "bind", "a sub-device's device_info.json to bind (repeat)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *info, *broker, *dir, bind, slog.Default()); err != nil {
		slog.Error("gatewayota", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, infoPath, broker, dir string, bind []string, log *slog.Logger) error {
	info, err := sdk.LoadDeviceInfo(infoPath)
	if err != nil {
		return err
	}
	creds, err := sdk.LoadSubDeviceCredentials(bind...)
	if err != nil {
		return err
	}
	subs := info.SubDevices()
	if len(subs) == 0 {
		return fmt.Errorf("%s lists no sub-devices (subDev.subdev_list)", infoPath)
	}
	cfg := info.Config(broker)
	cfg.Logger = log
	cfg.CleanSession = true
	c, err := sdk.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	g := c.Gateway()
	if err := c.Connect(ctx); err != nil {
		return err
	}
	if len(creds) > 0 {
		// An already bound sub-device is refused with 809: harmless.
		if err := g.BindSubDevices(ctx, creds...); err != nil {
			log.Warn("bind", "err", err)
		}
	}
	for _, id := range subs {
		s := g.SubDevice(id.ProductID, id.DeviceName)
		// Subscribe before Online: the subscription is made as it comes online.
		if err := s.OnFirmwareUpdate(ctx, func(ctx context.Context, u sdk.OTAUpdate) {
			upgrade(ctx, s, u, dir, log)
		}); err != nil {
			return err
		}
	}
	if err := g.Online(ctx, subs...); err != nil {
		log.Warn("online", "err", err) // the others are online
	}
	for _, id := range subs {
		s := g.SubDevice(id.ProductID, id.DeviceName)
		if !s.IsOnline() {
			continue
		}
		if err := s.ReportVersion(ctx, currentVersion(dir, id)); err != nil {
			log.Warn("report version", "sub", id, "err", err)
		}
	}
	log.Info("running", "sub-devices", subs)
	<-ctx.Done()
	return nil
}

// upgrade downloads one sub-device firmware, "flashes" it and reports.
// Handlers run on their own goroutines, so sub-devices upgrade in parallel.
func upgrade(ctx context.Context, s *sdk.SubDeviceClient, u sdk.OTAUpdate, dir string, log *slog.Logger) {
	id := sdk.SubDevice{ProductID: s.ProductID(), DeviceName: s.DeviceName()}
	if u.Version == currentVersion(dir, id) {
		return
	}
	log = log.With("sub", id, "version", u.Version)
	image := filepath.Join(dir, id.ProductID+"_"+id.DeviceName+".bin")
	if err := s.DownloadFirmware(ctx, u, image, nil); err != nil {
		log.Warn("download failed", "err", err) // the failure code is reported
		return
	}
	if err := s.ReportOTAProgress(ctx, u.Version, sdk.OTAProgress{State: sdk.OTAStateBurning, Percent: 100}); err != nil {
		log.Warn("report burning", "err", err)
	}
	// Transferring the image to the sub-device (serial, BLE...) goes here.
	if err := os.WriteFile(versionFile(dir, id), []byte(u.Version+"\n"), 0o644); err != nil {
		_ = s.ReportOTAProgress(ctx, u.Version, sdk.OTAProgress{State: sdk.OTAStateFail, Code: sdk.OTACodeUpdateFailed, Message: err.Error()})
		log.Warn("flash failed", "err", err)
		return
	}
	if err := s.ReportOTAProgress(ctx, u.Version, sdk.OTAProgress{State: sdk.OTAStateDone, Percent: 100}); err != nil {
		log.Warn("report done", "err", err)
	}
	if err := s.ReportVersion(ctx, u.Version); err != nil {
		log.Warn("report version", "err", err)
	}
	log.Info("sub-device upgraded")
}

func versionFile(dir string, id sdk.SubDevice) string {
	return filepath.Join(dir, id.ProductID+"_"+id.DeviceName+".version")
}

func currentVersion(dir string, id sdk.SubDevice) string {
	b, err := os.ReadFile(versionFile(dir, id))
	if v := strings.TrimSpace(string(b)); err == nil && v != "" {
		return v
	}
	return "1.0.0"
}
