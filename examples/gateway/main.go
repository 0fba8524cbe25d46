// Command gateway is a gateway with two sub-devices (lamps): it binds them
// (signing with their secrets), brings them online, applies and reports
// their controls, and reports their brightness every minute.
//
//	go run ./examples/gateway -product GWPID -device gw1 -secret PSK -broker tcp://host:1883 \
//	    -sub SUBPID/lamp1:PSK1 -sub SUBPID/lamp2:PSK2
//
// The sub-device product must be associated with the gateway product first
// (API BindProducts, or the console).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/thingo-iot/thingo/sdk"
)

// subFlags collects -sub PID/NAME:SECRET flags.
type subFlags []sdk.SubDeviceCredentials

func (s *subFlags) String() string { return fmt.Sprint(len(*s), " sub-devices") }

func (s *subFlags) Set(v string) error {
	id, secret, ok := strings.Cut(v, ":")
	pid, dn, ok2 := strings.Cut(id, "/")
	if !ok || !ok2 {
		return fmt.Errorf("want PRODUCT/NAME:SECRET, got %q", v)
	}
	*s = append(*s, sdk.SubDeviceCredentials{ProductID: pid, DeviceName: dn, DeviceSecret: secret})
	return nil
}

func main() {
	cfg := sdk.Config{CleanSession: true, Logger: slog.Default()}
	var subs subFlags
	flag.StringVar(&cfg.ProductID, "product", "", "gateway product id")
	flag.StringVar(&cfg.DeviceName, "device", "", "gateway device name")
	flag.StringVar(&cfg.DeviceSecret, "secret", "", "gateway device secret (base64 PSK)")
	flag.StringVar(&cfg.Broker, "broker", "tcp://localhost:1883", "broker URL")
	flag.Var(&subs, "sub", "sub-device PRODUCT/NAME:SECRET (repeat)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, subs); err != nil {
		slog.Error("gateway", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg sdk.Config, subs []sdk.SubDeviceCredentials) error {
	c, err := sdk.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	g := c.Gateway()
	g.OnChange(func(_ context.Context, ch sdk.GatewayChange) {
		slog.Info("bindings changed elsewhere", "bound", ch.Bound, "devices", ch.Devices)
	})
	if err := c.Connect(ctx); err != nil {
		return err
	}
	// Bind (an already bound sub-device is refused with 809: harmless).
	if err := g.BindSubDevices(ctx, subs...); err != nil {
		slog.Warn("bind", "err", err)
	}
	lamps := make([]*sdk.SubDeviceClient, 0, len(subs))
	ids := make([]sdk.SubDevice, 0, len(subs))
	for _, s := range subs {
		lamp := g.SubDevice(s.ProductID, s.DeviceName)
		lamp.OnControl(func(ctx context.Context, params map[string]any) (int, string) {
			slog.Info("control", "lamp", lamp.DeviceName(), "params", params)
			// Driving the lamp goes here; then confirm the new state
			// (handlers run on their own goroutine: requests are fine here).
			if _, err := lamp.ReportProperties(ctx, params); err != nil {
				slog.Warn("report", "lamp", lamp.DeviceName(), "err", err)
			}
			return sdk.CodeOK, "ok"
		})
		lamps = append(lamps, lamp)
		ids = append(ids, sdk.SubDevice{ProductID: s.ProductID, DeviceName: s.DeviceName})
	}
	if err := g.Online(ctx, ids...); err != nil {
		return err
	}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		for _, lamp := range lamps {
			if _, err := lamp.ReportProperties(ctx, map[string]any{"brightness": 50}); err != nil {
				slog.Warn("report", "lamp", lamp.DeviceName(), "err", err)
			}
		}
		select {
		case <-ctx.Done():
			offline, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return g.Offline(offline, ids...)
		case <-t.C:
		}
	}
}
