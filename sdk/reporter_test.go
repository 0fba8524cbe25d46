package sdk_test

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/sdk"
)

// recordingReporter records what a Reporter sends; fail makes the next
// report fail.
type recordingReporter struct {
	mu   sync.Mutex
	sent []map[string]any
	fail bool
}

func (r *recordingReporter) ReportProperties(_ context.Context, params map[string]any) (sdk.Reply, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, maps.Clone(params))
	if r.fail {
		r.fail = false
		return sdk.Reply{}, errors.New("timeout")
	}
	return sdk.Reply{Method: "report_reply", Status: "success"}, nil
}

func TestReporterSendsOnlyChanges(t *testing.T) {
	rec := &recordingReporter{}
	r := sdk.NewReporter(rec)
	steps := []struct {
		name     string
		params   map[string]any
		failNext bool
		want     map[string]any // nil: nothing sent
	}{
		{"first report sends all", map[string]any{"power_switch": 1, "brightness": 50}, false, map[string]any{"power_switch": 1, "brightness": 50}},
		{"unchanged sends nothing", map[string]any{"power_switch": 1, "brightness": 50}, false, nil},
		{"1.0 equals 1", map[string]any{"power_switch": 1.0}, false, nil},
		{"one changed", map[string]any{"power_switch": 1, "brightness": 60}, false, map[string]any{"brightness": 60}},
		{"failed report is not remembered", map[string]any{"brightness": 70}, true, map[string]any{"brightness": 70}},
		{"so it is sent again", map[string]any{"brightness": 70}, false, map[string]any{"brightness": 70}},
		{"structs compare by value", map[string]any{"position": map[string]any{"x": 1, "y": 2}}, false, map[string]any{"position": map[string]any{"x": 1, "y": 2}}},
		{"same struct, other key order", map[string]any{"position": map[string]any{"y": 2, "x": 1}}, false, nil},
	}
	for _, st := range steps {
		rec.mu.Lock()
		before := len(rec.sent)
		rec.fail = st.failNext
		rec.mu.Unlock()
		changed, _, err := r.Report(t.Context(), st.params)
		rec.mu.Lock()
		sent := rec.sent[before:]
		rec.mu.Unlock()
		if st.want == nil {
			if changed || len(sent) != 0 || err != nil {
				t.Fatalf("%s: changed=%v sent=%v err=%v, want nothing sent", st.name, changed, sent, err)
			}
			continue
		}
		if !changed || len(sent) != 1 || (err != nil) != st.failNext {
			t.Fatalf("%s: changed=%v sent=%v err=%v", st.name, changed, sent, err)
		}
		if len(sent[0]) != len(st.want) {
			t.Fatalf("%s: sent %v, want %v", st.name, sent[0], st.want)
		}
		for k := range st.want {
			if _, ok := sent[0][k]; !ok {
				t.Fatalf("%s: sent %v, want %v", st.name, sent[0], st.want)
			}
		}
	}
	r.Forget()
	if changed, _, _ := r.Report(t.Context(), map[string]any{"brightness": 70}); !changed {
		t.Fatal("after Forget, an unchanged value must be sent again")
	}
}

// TestE2EApplyPendingControl: a control sent while the device was offline
// is applied through the control handler at start-up, then cleared.
func TestE2EApplyPendingControl(t *testing.T) {
	n := startNode(t)
	pid := n.newModelProduct(0)
	d := n.newDevice(pid, "pending1")
	n.call("ControlDeviceData", map[string]any{"ProductId": pid, "DeviceName": "pending1", "Data": `{"brightness":42}`}, nil)

	applied := make(chan map[string]any, 1)
	c := newClient(t, n.url("tcp"), func(cfg *sdk.Config) {
		cfg.ProductID, cfg.DeviceName, cfg.DeviceSecret = pid, "pending1", d.DevicePsk
	})
	c.OnControl(func(_ context.Context, params map[string]any) (int, string) {
		applied <- params
		return 0, "ok"
	})
	mustConnect(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got, err := c.ApplyPendingControl(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := got["brightness"].(float64); !ok || v != 42 {
		t.Fatalf("applied %v, want brightness 42", got)
	}
	select {
	case p := <-applied:
		if p["brightness"] != float64(42) {
			t.Fatalf("handler got %v", p)
		}
	default:
		t.Fatal("the control handler was not called")
	}
	again, err := c.ApplyPendingControl(ctx)
	if err != nil || again != nil {
		t.Fatalf("second ApplyPendingControl = %v, %v; want nothing pending", again, err)
	}
}
