package sdk_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/sdk"
)

// cutTransport cancels its request's context once limit body bytes were
// read, as a process killed mid-download would stop, and records the Range
// headers it sent.
type cutTransport struct {
	limit  int64 // 0: never cut
	cancel context.CancelFunc

	mu     sync.Mutex
	ranges []string
}

func (c *cutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.ranges = append(c.ranges, r.Header.Get("Range"))
	c.mu.Unlock()
	res, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || c.limit == 0 {
		return res, err
	}
	res.Body = &cutBody{ReadCloser: res.Body, left: c.limit, cancel: c.cancel, ctx: r.Context()}
	return res, nil
}

func (c *cutTransport) sent() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ranges...)
}

type cutBody struct {
	io.ReadCloser
	left   int64
	cancel context.CancelFunc
	ctx    context.Context
}

func (b *cutBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		b.cancel()
		<-b.ctx.Done()
		return 0, b.ctx.Err()
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// otaDevice connects a client that queues update_firmware pushes.
func otaDevice(t *testing.T, n *node, pid string, d deviceData) (*sdk.Client, chan sdk.OTAUpdate) {
	t.Helper()
	c, err := sdk.New(sdk.Config{ProductID: pid, DeviceName: d.DeviceName, DeviceSecret: d.DevicePsk, Broker: n.url("tcp")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ups := make(chan sdk.OTAUpdate, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.OnFirmwareUpdate(ctx, func(_ context.Context, u sdk.OTAUpdate) { ups <- u }); err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.ReportVersion(ctx, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	// The report is handled asynchronously: wait until the platform has
	// recorded the version, which a task's FirmwareOriVersion filter reads.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var desc struct{ Device struct{ Version string } }
		n.call("DescribeDevice", map[string]any{"ProductId": pid, "DeviceName": d.DeviceName}, &desc)
		if desc.Device.Version == "1.0.0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("version 1.0.0 not recorded, DescribeDevice says %q", desc.Device.Version)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c, ups
}

func nextUpdate(t *testing.T, ups chan sdk.OTAUpdate) sdk.OTAUpdate {
	t.Helper()
	select {
	case u := <-ups:
		return u
	case <-time.After(15 * time.Second):
		t.Fatal("no update_firmware")
		return sdk.OTAUpdate{}
	}
}

func TestOTAResumeE2E(t *testing.T) {
	n := startNode(t)
	pid := n.newProduct("2")
	d := n.newDevice(pid, "ota1")
	fw := make([]byte, 300_000)
	_, _ = rand.Read(fw)
	sum := md5.Sum(fw)
	var cos struct{ Url string }
	n.call("GetCOSURL", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "FileSize": len(fw)}, &cos)
	req, _ := http.NewRequest(http.MethodPut, cos.Url, bytes.NewReader(fw))
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("PUT firmware: %v %v", res, err)
	}
	res.Body.Close()
	n.call("UploadFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "Md5sum": hex.EncodeToString(sum[:]), "FileSize": len(fw), "FirmwareName": "fw"}, nil)

	c, ups := otaDevice(t, n, pid, d)
	var task struct{ TaskId uint64 }
	n.call("BatchUpdateFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "FirmwareOriVersion": "1.0.0"}, &task)
	up := nextUpdate(t, ups)
	if up.Version != "2.0.0" || up.FileSize != int64(len(fw)) || up.MD5 != hex.EncodeToString(sum[:]) {
		t.Fatalf("update %+v", up)
	}

	// First attempt: the process "dies" after 100000 bytes.
	path := filepath.Join(t.TempDir(), "firmware.bin")
	ctx1, cancel1 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel1()
	cut := &cutTransport{limit: 100_000, cancel: cancel1}
	err = c.DownloadFirmware(ctx1, up, path, &http.Client{Transport: cut})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cut download: %v", err)
	}
	if _, err := os.Stat(path + sdk.StateSuffix); err != nil {
		t.Fatalf("no state file after the cut: %v", err)
	}
	c.Close()

	// Restart: a new client reports the old version, gets the update again
	// and resumes from the recorded offset.
	c, ups = otaDevice(t, n, pid, d)
	up = nextUpdate(t, ups)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec := &cutTransport{}
	if err := c.DownloadFirmware(ctx, up, path, &http.Client{Transport: rec}); err != nil {
		t.Fatalf("resumed download: %v", err)
	}
	if got := rec.sent(); len(got) != 1 || got[0] != "bytes=100000-" {
		t.Fatalf("resume sent Range %q, want bytes=100000-", got)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, fw) {
		t.Fatalf("downloaded file differs (%d bytes, %v)", len(got), err)
	}
	if _, err := os.Stat(path + sdk.StateSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state file left after success: %v", err)
	}
	for _, st := range []string{sdk.OTAStateBurning, sdk.OTAStateDone} {
		if err := c.ReportOTAProgress(ctx, "2.0.0", sdk.OTAProgress{State: st, Percent: 100}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var tk struct{ Status int64 }
		n.call("DescribeFirmwareTask", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "TaskId": task.TaskId}, &tk)
		if tk.Status == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task status %d, want 2 (done)", tk.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFirmwareDownloadFailures checks the failure codes against a plain
// HTTP server.
func TestFirmwareDownloadFailures(t *testing.T) {
	fw := []byte("firmware image")
	sum := md5.Sum(fw)
	good := hex.EncodeToString(sum[:])
	srv := newLocalServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/expired":
			http.Error(w, "expired", http.StatusForbidden)
		case "/fw":
			http.ServeContent(w, r, "fw", time.Time{}, bytes.NewReader(fw))
		default:
			http.NotFound(w, r)
		}
	}))
	tests := []struct {
		name, path, md5 string
		code            int // 0: success
	}{
		{"ok", "/fw", good, 0},
		{"missing", "/missing", good, sdk.OTACodeFileNotExist},
		{"expired", "/expired", good, sdk.OTACodeLinkExpired},
		{"md5", "/fw", fmt.Sprintf("%032x", 1), sdk.OTACodeMD5Mismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := sdk.FirmwareDownload{
				Update: sdk.OTAUpdate{Version: "2", URL: srv + tt.path, MD5: tt.md5, FileSize: int64(len(fw))},
				Path:   filepath.Join(t.TempDir(), "fw.bin"),
			}
			err := d.Run(context.Background())
			var oe *sdk.OTAError
			switch {
			case tt.code == 0 && err != nil:
				t.Fatalf("Run: %v", err)
			case tt.code != 0 && (!errors.As(err, &oe) || oe.Code != tt.code || !errors.Is(err, sdk.ErrDownload)):
				t.Fatalf("Run = %v, want code %d", err, tt.code)
			}
		})
	}
}

// newLocalServer serves h on 127.0.0.1 and returns its base URL.
func newLocalServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestFirmwareDownloadResume checks the state file handling: a matching
// state resumes with Range, a state of another firmware restarts at 0, and
// a server ignoring Range (200) restarts the file.
func TestFirmwareDownloadResume(t *testing.T) {
	fw := bytes.Repeat([]byte("0123456789"), 10_000)
	sum := md5.Sum(fw)
	good := hex.EncodeToString(sum[:])
	srv := newLocalServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/norange" {
			r.Header.Del("Range")
		}
		http.ServeContent(w, r, "fw", time.Time{}, bytes.NewReader(fw))
	}))
	tests := []struct {
		name, path, stateMD5, wantRange string
	}{
		{"resume", "/fw", good, "bytes=40000-"},
		{"other firmware", "/fw", fmt.Sprintf("%032x", 7), ""},
		{"server ignores range", "/norange", good, "bytes=40000-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "fw.bin")
			// A previous run wrote 40000 good bytes and garbage after them.
			if err := os.WriteFile(path, append(fw[:40000:40000], "garbage"...), 0o644); err != nil {
				t.Fatal(err)
			}
			state := fmt.Sprintf(`{"version":"2","md5sum":%q,"file_size":%d,"offset":40000}`, tt.stateMD5, len(fw))
			if err := os.WriteFile(path+sdk.StateSuffix, []byte(state), 0o644); err != nil {
				t.Fatal(err)
			}
			rec := &cutTransport{}
			var percents []int
			d := sdk.FirmwareDownload{
				Update:     sdk.OTAUpdate{Version: "2", URL: srv + tt.path, MD5: good, FileSize: int64(len(fw))},
				Path:       path,
				HTTPClient: &http.Client{Transport: rec},
				OnProgress: func(p int) { percents = append(percents, p) },
			}
			if err := d.Run(context.Background()); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := rec.sent(); len(got) != 1 || got[0] != tt.wantRange {
				t.Fatalf("Range sent %q, want %q", got, tt.wantRange)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, fw) {
				t.Fatalf("file differs (%d bytes)", len(got))
			}
			if len(percents) == 0 || percents[len(percents)-1] != 100 {
				t.Fatalf("progress %v does not end at 100", percents)
			}
		})
	}
}
