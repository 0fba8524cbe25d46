package browser_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/apptest"
	"github.com/thingo-iot/thingo/sdk"
)

// lamp is a simulated smart light on our SDK (the smart-light template's
// model): it reports a changing brightness every reportEvery, applies
// controls and reports the new state, and answers light_blink.
type lamp struct {
	productID, deviceName string

	client *sdk.Client
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	state    map[string]any
	received []map[string]any
	actions  int
}

// startLamp reads the device key through the API, connects the device and
// reports its initial state; it returns once the device is online.
func startLamp(ctx context.Context, t *testing.T, n *apptest.Node, productID, deviceName, broker string) (*lamp, error) {
	psk, err := deviceSecret(ctx, n, productID, deviceName)
	if err != nil {
		return nil, err
	}
	l := &lamp{
		productID: productID, deviceName: deviceName, done: make(chan struct{}),
		state: map[string]any{"power_switch": 0, "brightness": 50, "color": 0},
	}
	c, err := sdk.New(sdk.Config{
		ProductID: productID, DeviceName: deviceName, DeviceSecret: psk, Broker: broker,
		CleanSession: true, Logger: slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return nil, fmt.Errorf("sdk.New: %w", err)
	}
	l.client = c
	changed := make(chan struct{}, 1)
	c.OnControl(func(_ context.Context, params map[string]any) (int, string) {
		l.mu.Lock()
		l.received = append(l.received, maps.Clone(params))
		maps.Copy(l.state, params)
		l.mu.Unlock()
		select {
		case changed <- struct{}{}:
		default:
		}
		return 0, "ok"
	})
	c.OnAction("light_blink", func(_ context.Context, params map[string]any) (int, string, map[string]any) {
		l.mu.Lock()
		l.actions++
		l.mu.Unlock()
		return 0, "blinked", map[string]any{"result": 1}
	})
	connectCtx, cancelConnect := context.WithTimeout(ctx, 30*time.Second)
	defer cancelConnect()
	if err := c.Connect(connectCtx); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	if _, err := c.ReportProperties(connectCtx, l.snapshot()); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("initial report: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	l.cancel = cancel
	go l.run(runCtx, t, changed)
	return l, nil
}

// run reports a new brightness every reportEvery and the whole state after
// each control.
func (l *lamp) run(ctx context.Context, t *testing.T, changed <-chan struct{}) {
	defer close(l.done)
	tick := time.NewTicker(reportEvery)
	defer tick.Stop()
	for {
		var report map[string]any
		select {
		case <-ctx.Done():
			return
		case <-changed:
			report = l.snapshot()
		case <-tick.C:
			l.mu.Lock()
			b, _ := l.state["brightness"].(int)
			if f, ok := l.state["brightness"].(float64); ok { // set by a control
				b = int(f)
			}
			b = b%100 + 1
			l.state["brightness"] = b
			l.mu.Unlock()
			report = map[string]any{"brightness": b}
		}
		if _, err := l.client.ReportProperties(ctx, report); err != nil && ctx.Err() == nil {
			t.Logf("lamp: report %v: %v", report, err)
		}
	}
}

func (l *lamp) snapshot() map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.state)
}

// controls returns the params of every control the device received.
func (l *lamp) controls() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]map[string]any(nil), l.received...)
}

func (l *lamp) actionCalls() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.actions
}

// stop ends the reports and disconnects.
func (l *lamp) stop() {
	l.cancel()
	<-l.done
	_ = l.client.Close()
}

// testLog writes the SDK's log lines to the test log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log("lamp sdk: " + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
