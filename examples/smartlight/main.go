// Command smartlight is a smart light on the generated thing model
// (examples/lightgen), configured by the device_info.json the console
// downloads: go run ./examples/smartlight device_info.json tcp://127.0.0.1:1883
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"

	"github.com/thingo-iot/thingo/examples/lightgen"
	"github.com/thingo-iot/thingo/sdk"
)

func main() {
	if len(os.Args) != 3 {
		slog.Error("usage: smartlight device_info.json tcp://host:1883")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	info, err := sdk.LoadDeviceInfo(os.Args[1])
	if err != nil {
		slog.Error("device info", "err", err)
		return
	}
	c, err := sdk.New(info.Config(os.Args[2]))
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
