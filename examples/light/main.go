// Command light is a smart light: go run ./examples/light -product P -device D -secret PSK -broker tcp://host:1883
package main

import (
	"context"
	"flag"
	"github.com/thingo-iot/thingo/sdk"
	"log/slog"
	"os"
	"os/signal"
)

func main() {
	cfg := sdk.Config{CleanSession: true, Logger: slog.Default()}
	flag.StringVar(&cfg.ProductID, "product", "", "product id")
	flag.StringVar(&cfg.DeviceName, "device", "", "device name")
	flag.StringVar(&cfg.DeviceSecret, "secret", "", "device secret (base64 PSK)")
	flag.StringVar(&cfg.Broker, "broker", "tcp://localhost:1883", "broker URL: tcp://host:1883 or ws://host:8081/mqtt")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	changes := make(chan map[string]any, 8)
	c, err := sdk.New(cfg)
	if err == nil {
		defer c.Close()
		c.OnControl(func(ctx context.Context, params map[string]any) (int, string) {
			select { // applying params to the lamp hardware goes here
			case changes <- params:
			case <-ctx.Done():
			}
			return 0, "ok"
		})
		err = c.Connect(ctx)
	}
	if err != nil {
		slog.Error("start", "err", err)
		return
	}
	for {
		select {
		case p := <-changes:
			if _, err := c.ReportProperties(ctx, p); err != nil {
				slog.Warn("report", "err", err)
			}
		case <-ctx.Done():
			return
		}
	}
}
