// Command ota is a device that upgrades its firmware over the air:
//
//	go run ./examples/ota -info device_info.json -broker tcp://host:1883 -dir ./slot
//
// With -http and a device_info.json holding only productId, productSecret and
// deviceName, it first registers itself dynamically and saves the returned
// secret into the file. It reports the version stored in {dir}/version
// (default 1.0.0), downloads every pushed firmware to {dir}/download.bin
// (resuming a cut download after a restart), "burns" it by renaming it to
// {dir}/firmware.bin, stores the new version and reports it.
package main

import (
	"context"
	"encoding/json"
	"errors"
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

func main() {
	info := flag.String("info", "device_info.json", "device_info.json of the device")
	broker := flag.String("broker", "tcp://localhost:1883", "broker URL")
	httpURL := flag.String("http", "", "device HTTP endpoint for dynamic registration, e.g. http://host:8080")
	dir := flag.String("dir", ".", "firmware directory")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *info, *broker, *httpURL, *dir, slog.Default()); err != nil {
		slog.Error("ota", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, infoPath, broker, httpURL, dir string, log *slog.Logger) error {
	info, err := loadOrRegister(ctx, infoPath, httpURL)
	if err != nil {
		return err
	}
	cfg := info.Config(broker)
	cfg.Logger = log
	cfg.CleanSession = true
	c, err := sdk.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	updates := make(chan sdk.OTAUpdate, 1)
	if err := c.OnFirmwareUpdate(ctx, func(ctx context.Context, u sdk.OTAUpdate) {
		select {
		case updates <- u:
		case <-ctx.Done():
		}
	}); err != nil {
		return err
	}
	if err := c.Connect(ctx); err != nil {
		return err
	}
	version := currentVersion(dir)
	if err := c.ReportVersion(ctx, version); err != nil {
		return err
	}
	log.Info("running", "version", version)
	for {
		select {
		case <-ctx.Done():
			return nil
		case u := <-updates:
			if u.Version == version {
				continue
			}
			if err := upgrade(ctx, c, u, dir); err != nil {
				log.Warn("upgrade failed", "version", u.Version, "err", err)
				continue
			}
			version = u.Version
			log.Info("upgraded", "version", version)
			if err := c.ReportVersion(ctx, version); err != nil {
				log.Warn("report version", "err", err)
			}
		}
	}
}

// upgrade downloads, burns and reports one firmware.
func upgrade(ctx context.Context, c *sdk.Client, u sdk.OTAUpdate, dir string) error {
	download := filepath.Join(dir, "download.bin")
	if err := c.DownloadFirmware(ctx, u, download, nil); err != nil {
		return err
	}
	if err := c.ReportOTAProgress(ctx, u.Version, sdk.OTAProgress{State: sdk.OTAStateBurning, Percent: 100}); err != nil {
		return err
	}
	burn := func() error {
		if err := os.Rename(download, filepath.Join(dir, "firmware.bin")); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "version"), []byte(u.Version+"\n"), 0o644)
	}
	if err := burn(); err != nil {
		_ = c.ReportOTAProgress(ctx, u.Version, sdk.OTAProgress{State: sdk.OTAStateFail, Code: sdk.OTACodeUpdateFailed, Message: err.Error()})
		return fmt.Errorf("burn: %w", err)
	}
	return c.ReportOTAProgress(ctx, u.Version, sdk.OTAProgress{State: sdk.OTAStateDone, Percent: 100})
}

func currentVersion(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "version"))
	if v := strings.TrimSpace(string(b)); err == nil && v != "" {
		return v
	}
	return "1.0.0"
}

// loadOrRegister loads the device info, registering the device first when
// the file has no credential yet and httpURL is set.
func loadOrRegister(ctx context.Context, path, httpURL string) (sdk.DeviceInfo, error) {
	info, err := sdk.LoadDeviceInfo(path)
	if err == nil || httpURL == "" || !errors.Is(err, sdk.ErrBadDeviceInfo) {
		return info, err
	}
	b, rerr := os.ReadFile(path)
	if rerr != nil {
		return sdk.DeviceInfo{}, rerr
	}
	var partial sdk.DeviceInfo
	if jerr := json.Unmarshal(b, &partial); jerr != nil || partial.ProductSecret == "" {
		return sdk.DeviceInfo{}, err
	}
	reg, err := sdk.Register(ctx, sdk.RegisterConfig{BaseURL: httpURL, ProductID: partial.ProductID,
		ProductSecret: partial.ProductSecret, DeviceName: partial.DeviceName})
	if err != nil {
		return sdk.DeviceInfo{}, err
	}
	return reg.Save(path)
}
