package ota_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/ota"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/store/sqlite"
)

// reg adapts a registry.Store to ota.Registry.
type reg struct{ s registry.Store }

func (r reg) GetProduct(ctx context.Context, id string) (registry.Product, error) {
	return r.s.GetProduct(ctx, id)
}
func (r reg) GetDevice(ctx context.Context, pid, dn string) (registry.DeviceDetail, error) {
	d, err := r.s.GetDevice(ctx, pid, dn)
	return registry.DeviceDetail{Device: d}, err
}
func (r reg) ListDevices(ctx context.Context, f registry.DeviceFilter) ([]registry.Device, int64, error) {
	return r.s.ListDevices(ctx, f)
}

type files map[string][2]string

func (f files) Rename(_ context.Context, from, to string) error {
	v, ok := f[from]
	if !ok {
		return errors.New("no such file")
	}
	delete(f, from)
	f[to] = v
	return nil
}

func (f files) Delete(_ context.Context, key string) error { delete(f, key); return nil }

func (f files) Sum(_ context.Context, key string) (int64, string, error) {
	v, ok := f[key]
	if !ok {
		return 0, "", errors.New("no such file")
	}
	var n int64
	fmt.Sscan(v[0], &n)
	return n, v[1], nil
}

type links struct{}

func (links) UploadURL(key string) string   { return "http://up/" + key }
func (links) DownloadURL(key string) string { return "http://dl/" + key }

type msg struct {
	dn      string
	payload map[string]any
}

type pub struct {
	mu     sync.Mutex
	online map[string]bool
	sent   []msg
}

func (p *pub) Publish(_ context.Context, _, dn, _ string, payload []byte, _ byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.online[dn] {
		return errors.New("offline")
	}
	var m map[string]any
	_ = json.Unmarshal(payload, &m)
	p.sent = append(p.sent, msg{dn, m})
	return nil
}

func (p *pub) last() map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.sent) == 0 {
		return nil
	}
	return p.sent[len(p.sent)-1].payload
}

const md5sum = "7dc4bdab47c718c2331597af750934a1"

type fixture struct {
	svc   *ota.Service
	store ota.Store
	pub   *pub
	now   *time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Unix(1_800_000_000, 0).UTC()
	must(t, st.CreateProject(ctx, registry.Project{ID: "P1", Name: "p", CreatedAt: now, UpdatedAt: now}))
	must(t, st.CreateProduct(ctx, registry.Product{ID: "PROD000001", ProjectID: "P1", Name: "x", CreatedAt: now, UpdatedAt: now}))
	for _, n := range []string{"dev1", "dev2"} {
		must(t, st.CreateDevice(ctx, registry.Device{ProductID: "PROD000001", Name: n, SealedPSK: []byte("x"), EnableState: 1, Version: "1.0", CreatedAt: now}))
	}
	p := &pub{online: map[string]bool{}}
	f := &fixture{store: st, pub: p, now: &now}
	f.svc, err = ota.NewService(ota.Config{
		Store: st, Registry: reg{st}, Files: files{ota.UploadKey("PROD000001", "2.0"): {"150000", md5sum}, ota.UploadKey("PROD000001", "2.0.0"): {"150000", md5sum}, ota.UploadKey("PROD000001", "3.0"): {"150001", md5sum}},
		Links: links{}, Publisher: p, Now: func() time.Time { return *f.now },
	})
	must(t, err)
	_, err = f.svc.Upload(ctx, ota.Firmware{ProductID: "PROD000001", Version: "2.0", MD5: md5sum, Size: 150000})
	must(t, err)
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) report(dn, s string) {
	f.svc.HandleReport(context.Background(), "PROD000001", dn, []byte(s))
}

func (f *fixture) state(t *testing.T, dn string) ota.TaskDevice {
	t.Helper()
	d, err := f.svc.DeviceStatus(context.Background(), "PROD000001", dn)
	must(t, err)
	return d
}

func progress(state, percent, code string) string {
	return `{"type": "report_progress", "report": {"progress": {"state":"` + state + `", "percent":"` + percent +
		`", "result_code":"` + code + `", "result_msg":"time_out"}, "version": "2.0"}}`
}

func TestUpload(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		name string
		in   ota.Firmware
		want error
	}{
		{"exists", ota.Firmware{ProductID: "PROD000001", Version: "2.0", MD5: md5sum, Size: 150000}, ota.ErrFirmwareExists},
		{"not uploaded", ota.Firmware{ProductID: "PROD000001", Version: "4.0", MD5: md5sum, Size: 150000}, ota.ErrFileNotUploaded},
		{"size mismatch", ota.Firmware{ProductID: "PROD000001", Version: "3.0", MD5: md5sum, Size: 150000}, ota.ErrFileMismatch},
		{"missing product", ota.Firmware{ProductID: "NOPRODUCT0", Version: "2.0", MD5: md5sum, Size: 1}, registry.ErrProductNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.svc.Upload(ctx, tc.in); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	var inv *ota.InvalidError
	if _, err := f.svc.Upload(ctx, ota.Firmware{ProductID: "PROD000001", Version: "a/b", MD5: md5sum, Size: 1}); !errors.As(err, &inv) {
		t.Errorf("bad version: %v", err)
	}
}

func TestUpgradeFlow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	task, err := f.svc.CreateTask(ctx, ota.TaskInput{ProductID: "PROD000001", Version: "2.0", OriVersion: "1.0"})
	must(t, err)
	if task.Total != 2 {
		t.Fatalf("task devices = %d", task.Total)
	}
	if _, err := f.svc.CreateTask(ctx, ota.TaskInput{ProductID: "PROD000001", Version: "2.0", DeviceNames: []string{"dev1"}}); !errors.Is(err, ota.ErrDeviceUpdating) {
		t.Fatalf("second task: %v", err)
	}
	must(t, f.svc.Tick(ctx)) // everyone offline
	if d := f.state(t, "dev1"); d.State != ota.StatePending || d.ErrMsg == "" {
		t.Fatalf("offline device: %+v", d)
	}

	f.pub.online["dev1"] = true
	f.report("dev1", `{"type": "report_version", "report": {"version": "1.0"}}`)
	up := f.pub.last()
	if up["type"] != "update_firmware" || up["file_size"] != float64(150000) || up["md5sum"] != md5sum || up["url"] != "http://dl/firmware/PROD000001/2.0.bin" {
		t.Fatalf("update_firmware = %v", up)
	}
	if f.pub.sent[0].payload["type"] != "report_version_rsp" {
		t.Fatalf("first reply = %v", f.pub.sent[0].payload)
	}

	steps := []struct {
		msg     string
		state   ota.State
		percent int64
		pushes  int64
	}{
		{progress("downloading", "0", "0"), ota.StateDownloading, 0, 1},
		{progress("downloading", "36", "0"), ota.StateDownloading, 36, 1},
		{`{"type": "report_version", "report": {"version": "1.0"}}`, ota.StatePushed, 0, 2}, // rebooted: re-push
		{progress("downloading", "69", "0"), ota.StateDownloading, 69, 2},
		{progress("burning", "100", "0"), ota.StateBurning, 69, 2},
		{progress("done", "", "0"), ota.StateDone, 100, 2},
	}
	for i, s := range steps {
		f.report("dev1", s.msg)
		d := f.state(t, "dev1")
		if d.State != s.state || d.Percent != s.percent || d.Pushes != s.pushes {
			t.Fatalf("step %d: %+v", i, d)
		}
	}
	dev, err := f.store.(registry.Store).GetDevice(ctx, "PROD000001", "dev1")
	must(t, err)
	if dev.Version != "2.0" {
		t.Errorf("device version = %q", dev.Version)
	}

	// dev2 comes online already on 2.0: done without a push.
	f.pub.online["dev2"] = true
	f.report("dev2", `{"type": "report_version", "report": {"version": "2.0"}}`)
	if d := f.state(t, "dev2"); d.State != ota.StateDone {
		t.Fatalf("dev2: %+v", d)
	}
	must(t, f.svc.Tick(ctx))
	if tk, _ := f.svc.Task(ctx, task.ID); tk.Status != ota.TaskDone {
		t.Errorf("task status = %d", tk.Status)
	}
}

func TestRetriesAndTimeout(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	one := int64(1)
	_, err := f.svc.CreateTask(ctx, ota.TaskInput{ProductID: "PROD000001", Version: "2.0", DeviceNames: []string{"dev1"},
		MaxRetry: &one, RetryInterval: time.Minute, Timeout: 2 * time.Minute})
	must(t, err)
	f.pub.online["dev1"] = true
	must(t, f.svc.Tick(ctx))
	if d := f.state(t, "dev1"); d.State != ota.StatePushed {
		t.Fatalf("not pushed: %+v", d)
	}
	f.report("dev1", progress("downloading", "10", "0"))
	f.report("dev1", progress("fail", "0", "-4"))
	f.report("dev1", progress("fail", "0", "-5")) // the SDK's second failure is not another retry
	d := f.state(t, "dev1")
	if d.State != ota.StatePending || d.Retries != 1 || d.RetCode != -4 || d.ErrMsg != "MD5 mismatch" {
		t.Fatalf("after fail: %+v", d)
	}
	f.report("dev1", `{"type": "report_version", "report": {"version": "1.0"}}`)
	if d := f.state(t, "dev1"); d.State != ota.StatePending {
		t.Fatalf("pushed before the retry interval: %+v", d)
	}
	*f.now = f.now.Add(time.Minute)
	must(t, f.svc.Tick(ctx))
	if d := f.state(t, "dev1"); d.State != ota.StatePushed || d.Pushes != 2 {
		t.Fatalf("retry: %+v", d)
	}
	*f.now = f.now.Add(3 * time.Minute) // silent past the timeout, no retries left
	must(t, f.svc.Tick(ctx))
	if d := f.state(t, "dev1"); d.State != ota.StateFailed || d.RetCode != -1 {
		t.Fatalf("timeout: %+v", d)
	}
}

func TestCancelAndRateLimit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	task, err := f.svc.CreateTask(ctx, ota.TaskInput{ProductID: "PROD000001", Version: "2.0", OriVersion: "1.0", RateLimit: 1})
	must(t, err)
	f.pub.online["dev1"], f.pub.online["dev2"] = true, true
	must(t, f.svc.Tick(ctx))
	rows, _, err := f.svc.TaskDevices(ctx, ota.TaskDeviceFilter{ProductID: "PROD000001", TaskID: task.ID})
	must(t, err)
	if rows[0].State != ota.StatePushed || rows[1].State != ota.StatePending {
		t.Fatalf("rate limit 1/min: %s %s", rows[0].State, rows[1].State)
	}
	must(t, f.svc.CancelTask(ctx, "PROD000001", task.ID))
	rows, _, err = f.svc.TaskDevices(ctx, ota.TaskDeviceFilter{ProductID: "PROD000001", TaskID: task.ID})
	must(t, err)
	for _, r := range rows {
		if r.State != ota.StateCanceled {
			t.Errorf("%s: %s", r.DeviceName, r.State)
		}
	}
	if err := f.svc.CancelTask(ctx, "OTHERPROD0", task.ID); !errors.Is(err, ota.ErrTaskNotFound) {
		t.Errorf("cancel other product's task: %v", err)
	}
}

func FuzzHandleReport(f *testing.F) {
	f.Add([]byte(`{"type": "report_version", "report": {"version": "1.0"}}`))
	f.Add([]byte(progress("downloading", "10", "0")))
	f.Add([]byte(`{"type":"report_progress","report":{"progress":{"state":"fail","result_code":-4},"version":"2.0"}}`))
	f.Add([]byte(`{`))
	fx := newFixture(f)
	fx.pub.online["dev1"] = true
	_, _ = fx.svc.CreateTask(context.Background(), ota.TaskInput{ProductID: "PROD000001", Version: "2.0", DeviceNames: []string{"dev1"}})
	f.Fuzz(func(t *testing.T, payload []byte) {
		fx.svc.HandleReport(context.Background(), "PROD000001", "dev1", payload)
	})
}

func TestStagedRollout(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := *f.now
	must(t, f.store.(registry.Store).CreateDevice(ctx, registry.Device{ProductID: "PROD000001", Name: "dev3", SealedPSK: []byte("x"), EnableState: 1, Version: "1.0", CreatedAt: now}))
	zero := int64(0)
	task, err := f.svc.CreateTask(ctx, ota.TaskInput{ProductID: "PROD000001", Version: "2.0", OriVersion: "1.0",
		MaxRetry: &zero, RolloutBatch: 1, PauseFailurePct: 50})
	must(t, err)
	for _, n := range []string{"dev1", "dev2", "dev3"} {
		f.pub.online[n] = true
	}
	states := func() string {
		rows, _, err := f.svc.TaskDevices(ctx, ota.TaskDeviceFilter{ProductID: "PROD000001", TaskID: task.ID})
		must(t, err)
		out := ""
		for _, r := range rows {
			out += string(r.State) + " "
		}
		return out
	}
	steps := []struct {
		do         func()
		want       string
		taskStatus int64
	}{
		{func() {}, "pushed pending pending ", ota.TaskRunning},
		{func() {}, "pushed pending pending ", ota.TaskRunning}, // the first batch has not finished
		{func() { f.report("dev1", progress("fail", "0", "-5")) }, "failed pending pending ", ota.TaskPaused},
		// dev2 reporting its version does not start it while paused.
		{func() { f.report("dev2", `{"type": "report_version", "report": {"version": "1.0"}}`) }, "failed pending pending ", ota.TaskPaused},
		{func() { must(t, f.svc.ResumeTask(ctx, "PROD000001", task.ID)) }, "failed pushed pushed ", ota.TaskRunning},
	}
	for i, s := range steps {
		s.do()
		must(t, f.svc.Tick(ctx))
		if got := states(); got != s.want {
			t.Fatalf("step %d: states %q, want %q", i, got, s.want)
		}
		tk, err := f.svc.Task(ctx, task.ID)
		must(t, err)
		if tk.Status != s.taskStatus {
			t.Fatalf("step %d: task status %d, want %d", i, tk.Status, s.taskStatus)
		}
	}
	if err := f.svc.ResumeTask(ctx, "PROD000001", task.ID); !errors.Is(err, ota.ErrTaskNotPaused) {
		t.Errorf("resume a running task: %v", err)
	}
}
