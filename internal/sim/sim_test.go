package sim

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/apiclient"
	"github.com/thingo-iot/thingo/internal/app"
	"github.com/thingo-iot/thingo/internal/apptest"
	"github.com/thingo-iot/thingo/internal/thingmodel"
)

const modelFile = "../codegen/testdata/c_sdk_example_config.json"

// startNode starts a real node on random loopback ports.
func startNode(t *testing.T) (*app.App, *apiclient.Client) {
	t.Helper()
	n := apptest.Start(t, "")
	return n.App, n.API
}

func TestRunAgainstNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	a, api := startNode(t)
	ctx := context.Background()
	schema, err := os.ReadFile(modelFile)
	if err != nil {
		t.Fatal(err)
	}
	m, err := thingmodel.Parse(schema)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := CreateProduct(ctx, api, "simtest", schema)
	if err != nil {
		t.Fatal(err)
	}
	devs, err := CreateDevices(ctx, api, pid, "sim", 20, 8)
	if err != nil {
		t.Fatal(err)
	}
	// Creating them again describes the existing devices.
	again, err := CreateDevices(ctx, api, pid, "sim", 20, 8)
	if err != nil || again[7] != devs[7] {
		t.Fatalf("CreateDevices again = %v, %v; want %v", again[7], err, devs[7])
	}
	credFile := filepath.Join(t.TempDir(), "devices.json")
	if err := WriteDevices(credFile, devs); err != nil {
		t.Fatal(err)
	}
	if devs, err = LoadDevices(credFile); err != nil || len(devs) != 20 {
		t.Fatalf("LoadDevices = %d, %v", len(devs), err)
	}

	var (
		mu    sync.Mutex
		ticks []Stats
	)
	connected := make(chan struct{})
	var once sync.Once
	cfg := Config{
		Broker: "tcp://" + a.MQTTAddr("tcp").String(), Model: m, Devices: devs,
		Rate: 2, EventChance: 0.2, Duration: 3 * time.Second, Interval: 200 * time.Millisecond, Seed: 1,
	}
	type result struct {
		s   Stats
		err error
	}
	res := make(chan result, 1)
	go func() {
		s, err := Run(ctx, cfg, func(s Stats) {
			mu.Lock()
			ticks = append(ticks, s)
			mu.Unlock()
			if s.Connected == len(devs) {
				once.Do(func() { close(connected) })
			}
		})
		res <- result{s, err}
	}()
	select {
	case <-connected:
		// Control and action round trips through the simulated devices.
		dn := devs[3].DeviceName
		if err := api.Call(ctx, "ControlDeviceData", map[string]any{"ProductId": pid, "DeviceName": dn, "Data": `{"brightness":80}`}, nil); err != nil {
			t.Errorf("ControlDeviceData: %v", err)
		}
		var out struct{ OutputParams, Status string }
		if err := api.Call(ctx, "CallDeviceActionSync", map[string]any{"ProductId": pid, "DeviceName": dn, "ActionId": "light_blink",
			"InputParams": `{"time":3,"color":1,"total_time":10}`}, &out); err != nil {
			t.Errorf("CallDeviceActionSync: %v", err)
		} else if out.OutputParams == "" {
			t.Errorf("CallDeviceActionSync = %+v: no output", out)
		}
	case r := <-res:
		t.Fatalf("run ended before all devices connected: %+v %v", r.s, r.err)
	}
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	s := r.s
	t.Logf("summary: %+v", s)
	if s.Errors != 0 || s.ConnectErrors != 0 || s.ConnectedOnce != 20 {
		t.Errorf("errors %d, connect errors %d, connected %d", s.Errors, s.ConnectErrors, s.ConnectedOnce)
	}
	if s.Reports < 20 || s.Replies < s.Reports || s.P50 <= 0 || s.P99 < s.P50 {
		t.Errorf("reports %d replies %d p50 %v p99 %v", s.Reports, s.Replies, s.P50, s.P99)
	}
	if s.Controls != 1 || s.Actions != 1 {
		t.Errorf("controls %d actions %d, want 1 and 1", s.Controls, s.Actions)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ticks) == 0 {
		t.Error("no live figures")
	}
}

func TestRunCount(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	a, api := startNode(t)
	ctx := context.Background()
	schema, err := os.ReadFile(modelFile)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := thingmodel.Parse(schema)
	pid, err := CreateProduct(ctx, api, "simcount", schema)
	if err != nil {
		t.Fatal(err)
	}
	devs, err := CreateDevices(ctx, api, pid, "c", 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	// SpreadSources: each device dials from its own 127.x address.
	s, err := Run(ctx, Config{Broker: "tcp://" + a.MQTTAddr("tcp").String(), Model: m, Devices: devs, Rate: 20, Count: 30, EventChance: -1,
		SpreadSources: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Reports in flight when the count is reached still finish.
	if s.Reports < 30 || s.Reports > 30+int64(len(devs)) || s.Events != 0 || s.Errors != 0 {
		t.Errorf("summary %+v: want about 30 reports, no events, no errors", s)
	}
}

func TestConfigErrors(t *testing.T) {
	m, err := thingmodel.Parse([]byte(`{"properties":[],"events":[],"actions":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	dev := []Device{{ProductID: "ABCDEFGHIJ", DeviceName: "d", DeviceSecret: "a2V5"}}
	tests := []Config{
		{Broker: "tcp://127.0.0.1:1", Devices: dev, Rate: 1},
		{Broker: "tcp://127.0.0.1:1", Model: m, Rate: 1},
		{Broker: "tcp://127.0.0.1:1", Model: m, Devices: dev},
		{Model: m, Devices: dev, Rate: 1},
	}
	for i, cfg := range tests {
		if _, err := Run(context.Background(), cfg, nil); err == nil {
			t.Errorf("config %d: no error", i)
		}
	}
}

func TestLoadDevicesErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"bad.json":     `{`,
		"missing.json": `[{"ProductId":"ABCDEFGHIJ","DeviceName":"d"}]`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadDevices(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := LoadDevices(filepath.Join(dir, "none.json")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestQuantile(t *testing.T) {
	var h histogram
	for i := 1; i <= 100; i++ {
		h.observe(time.Duration(i) * time.Millisecond)
	}
	c := h.snapshot()
	tests := []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}}
	for _, tt := range tests {
		got := quantile(c, tt.q)
		if got < tt.want || float64(got) > float64(tt.want)*latencyGrowth {
			t.Errorf("quantile(%v) = %v, want %v within 5%%", tt.q, got, tt.want)
		}
	}
	if got := quantile(make([]int64, latencyBuckets), 0.5); got != 0 {
		t.Errorf("empty quantile = %v", got)
	}
}

// TestWalkerStaysInModel checks generated values against the model's own
// validators over many steps.
func TestWalkerStaysInModel(t *testing.T) {
	for _, f := range []string{"c_sdk_example_config", "java_sdk_struct_array", "java_sdk_light_sample"} {
		t.Run(f, func(t *testing.T) {
			schema, err := os.ReadFile("../codegen/testdata/" + f + ".json")
			if err != nil {
				t.Fatal(err)
			}
			m, err := thingmodel.Parse(schema)
			if err != nil {
				t.Fatal(err)
			}
			w := newWalker(newRand(1))
			for i := range 500 {
				if err := m.ValidateReport(mustJSON(t, w.step(m))); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				for _, e := range m.Events {
					if err := m.ValidateEvent(e.ID, e.Type, mustJSON(t, w.params(e.Params))); err != nil {
						t.Fatalf("event %s: %v", e.ID, err)
					}
				}
				for _, a := range m.Actions {
					if err := m.ValidateActionOutput(a.ID, mustJSON(t, w.params(a.Output))); err != nil {
						t.Fatalf("action %s: %v", a.ID, err)
					}
				}
			}
			w.set(map[string]any{"brightness": 80.0, "power_switch": 1.0})
			if err := m.ValidateReport(mustJSON(t, w.step(m))); err != nil {
				t.Fatalf("after control: %v", err)
			}
		})
	}
}

func TestSourceAddr(t *testing.T) {
	seen := map[string]bool{}
	for _, i := range []int{0, 1, 254, 255, 256, 65535, 65536, 200000} {
		a := sourceAddr(i)
		if !a.IP.IsLoopback() || a.IP.To4() == nil {
			t.Fatalf("sourceAddr(%d) = %v, not an IPv4 loopback address", i, a)
		}
		if seen[a.IP.String()] {
			t.Fatalf("sourceAddr(%d) = %v repeats", i, a)
		}
		seen[a.IP.String()] = true
	}
}
