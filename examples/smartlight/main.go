// Command smartlight is a smart light on the generated thing model
// (examples/lightgen): go run ./examples/smartlight -product P -device D -secret PSK
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"

	"github.com/thingo-iot/thingo/examples/lightgen"
	"github.com/thingo-iot/thingo/sdk"
)

func main() {
	cfg := sdk.Config{Logger: slog.Default()}
	flag.StringVar(&cfg.ProductID, "product", "", "product id")
	flag.StringVar(&cfg.DeviceName, "device", "", "device name")
	flag.StringVar(&cfg.DeviceSecret, "secret", "", "device secret (base64 PSK)")
	flag.StringVar(&cfg.Broker, "broker", "tcp://localhost:1883", "broker URL")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c, err := sdk.New(cfg)
	if err != nil {
		slog.Error("config", "err", err)
		return
	}
	defer c.Close()
	state := make(chan lightgen.Properties, 8)
	c.OnControl(func(ctx context.Context, params map[string]any) (int, string) {
		var p lightgen.Properties // the platform validated params against the model
		if err := p.FromWire(params); err != nil {
			return 406, err.Error()
		}
		state <- p // drive the lamp here; the loop below confirms the new state
		return 0, "ok"
	})
	c.OnAction(lightgen.ActionLightBlink, func(ctx context.Context, params map[string]any) (int, string, map[string]any) {
		return 0, "ok", (&lightgen.LightBlinkOutput{ErrCode: 0}).ToWire()
	})
	if err := c.Connect(ctx); err != nil {
		slog.Error("connect", "err", err)
		return
	}
	on, level := true, int64(80)
	for p := (lightgen.Properties{PowerSwitch: &on, Brightness: &level}); ctx.Err() == nil; {
		if _, err := c.ReportProperties(ctx, p.ToWire()); err != nil {
			slog.Warn("report", "err", err)
		}
		select {
		case p = <-state:
		case <-ctx.Done():
		}
	}
}
