package console_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestFleetPages runs the gateway and OTA pages on one node: empty
// states, firmware upload (form and script paths), errors, tasks.
func TestFleetPages(t *testing.T) {
	c := startFleetNode(t)

	t.Run("empty states", func(t *testing.T) {
		fleetMustContain(t, "gateways", c.get("/console/gateways"), "There is no gateway product yet", `href="/console/products"`)
		fleetMustContain(t, "ota", c.get("/console/ota"), "There is no product yet", "No firmware uploaded", "No upgrade task yet")
	})
	t.Run("login required", func(t *testing.T) {
		anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := anon.Get(c.base + "/console/ota")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/console/login") {
			t.Fatalf("anonymous GET /console/ota = %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	var project string
	pid := c.createProduct(&project, "lamp", 0)
	c.createDevice(pid, "dev1")
	c.createDevice(pid, "dev2")
	t.Run("gateway page of a normal product", func(t *testing.T) {
		r := c.get("/console/gateways/" + pid + "/dev1")
		if r.status != http.StatusNotFound {
			t.Fatalf("status %d", r.status)
		}
		fleetMustContain(t, "not a gateway", r, "is not a gateway product")
	})
	fw := []byte("firmware image v1.0.1\x00\x01\x02")
	sum := md5.Sum(fw)

	t.Run("upload errors", func(t *testing.T) {
		tests := []struct {
			name   string
			fields map[string]string
			file   []byte
			want   string
		}{
			{"bad version", map[string]string{"ProductId": pid, "FirmwareVersion": "bad version!"}, fw, "must be 1-32 characters"},
			{"missing version", map[string]string{"ProductId": pid, "FirmwareVersion": ""}, fw, "enter the firmware version"},
			{"missing file", map[string]string{"ProductId": pid, "FirmwareVersion": "1.0.0"}, nil, "choose a firmware file"},
			{"unknown product", map[string]string{"ProductId": "NOPRODUCT1", "FirmwareVersion": "1.0.0"}, fw, "NotExist"},
		}
		for _, tt := range tests {
			for _, header := range []bool{false, true} {
				r := c.postMultipart("/console/ota/firmware", tt.fields, tt.file, header)
				if r.status != http.StatusBadRequest {
					t.Fatalf("%s (header token %v): status %d, want 400: %s", tt.name, header, r.status, r.body)
				}
				fleetMustContain(t, tt.name, r, tt.want, `class="field-error"`)
				// The form keeps what was typed.
				fleetMustContain(t, tt.name, r, `value="`+tt.fields["FirmwareVersion"]+`"`)
			}
		}
	})

	t.Run("upload through the form", func(t *testing.T) {
		r := c.postMultipart("/console/ota/firmware", map[string]string{
			"ProductId": pid, "FirmwareVersion": "1.0.1", "FirmwareName": "first", "FirmwareDescription": "the first",
		}, fw, false)
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/console/ota/firmware/"+pid+"/1.0.1?flash=") {
			t.Fatalf("upload: %d %q %s", r.status, r.location, r.body)
		}
		fleetMustContain(t, "firmware page", c.get(r.location), hex.EncodeToString(sum[:]), "firmware 1.0.1 uploaded", `id="create-task"`, "dev1", "dev2")
		fleetMustContain(t, "ota page", c.get("/console/ota?product="+pid), `href="/console/ota/firmware/`+pid+`/1.0.1"`, "first")

		again := c.postMultipart("/console/ota/firmware", map[string]string{"ProductId": pid, "FirmwareVersion": "1.0.1"}, fw, false)
		if again.status != http.StatusBadRequest {
			t.Fatalf("duplicate upload: %d", again.status)
		}
		fleetMustContain(t, "duplicate", again, "already exists")
	})

	t.Run("upload streamed without a parsed form", func(t *testing.T) {
		r := c.postMultipart("/console/ota/firmware", map[string]string{"ProductId": pid, "FirmwareVersion": "1.0.2"}, fw, true)
		if r.status != http.StatusSeeOther {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
	})

	t.Run("upload through the script endpoints", func(t *testing.T) {
		var bad struct{ Error, Field string }
		if st := c.postJSON("/console/ota/upload-url", map[string]string{"ProductId": pid, "FirmwareVersion": "no/slash"}, &bad); st != http.StatusBadRequest || bad.Field != "FirmwareVersion" {
			t.Fatalf("bad version: %d %+v", st, bad)
		}
		var dup struct{ Error, Field string }
		if st := c.postJSON("/console/ota/upload-url", map[string]string{"ProductId": pid, "FirmwareVersion": "1.0.1"}, &dup); st != http.StatusBadRequest || dup.Field != "FirmwareVersion" {
			t.Fatalf("existing version: %d %+v", st, dup)
		}
		var link struct{ Url string }
		if st := c.postJSON("/console/ota/upload-url", map[string]string{"ProductId": pid, "FirmwareVersion": "2.0.0"}, &link); st != http.StatusOK || link.Url == "" {
			t.Fatalf("upload-url: %d %+v", st, link)
		}
		image := bytes.Repeat([]byte("v2"), 4096)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, link.Url, bytes.NewReader(image))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		etag := strings.Trim(resp.Header.Get("ETag"), `"`)
		want := md5.Sum(image)
		if resp.StatusCode != http.StatusOK || etag != hex.EncodeToString(want[:]) {
			t.Fatalf("PUT: %d ETag %q", resp.StatusCode, etag)
		}
		var wrong struct{ Error, Field string }
		if st := c.postJSON("/console/ota/firmware/register", map[string]any{
			"ProductId": pid, "FirmwareVersion": "2.0.0", "Md5sum": etag, "FileSize": len(image) + 1,
		}, &wrong); st != http.StatusBadRequest || wrong.Field != "File" {
			t.Fatalf("wrong size: %d %+v", st, wrong)
		}
		var done struct{ Location string }
		if st := c.postJSON("/console/ota/firmware/register", map[string]any{
			"ProductId": pid, "FirmwareVersion": "2.0.0", "FirmwareName": "second", "Md5sum": etag, "FileSize": len(image),
		}, &done); st != http.StatusOK || !strings.HasPrefix(done.Location, "/console/ota/firmware/"+pid+"/2.0.0") {
			t.Fatalf("register: %d %+v", st, done)
		}
		fleetMustContain(t, "firmware page", c.get(done.Location), etag)
	})

	var taskPath string
	t.Run("task errors", func(t *testing.T) {
		tests := []struct {
			name string
			form url.Values
			want string
		}{
			{"no device", url.Values{}, "choose the devices to upgrade"},
			{"timeout out of range", url.Values{"DeviceName": {"dev1"}, "TimeoutInterval": {"5"}}, "between 120 and 900"},
			{"not a number", url.Values{"DeviceName": {"dev1"}, "MaxRetryNum": {"many"}}, "whole number"},
			{"unknown device", url.Values{"DeviceName": {"ghost"}}, "device does not exist"},
		}
		for _, tt := range tests {
			r := c.postForm("/console/ota/firmware/"+pid+"/2.0.0/tasks", tt.form)
			if r.status != http.StatusBadRequest {
				t.Fatalf("%s: status %d: %s", tt.name, r.status, r.body)
			}
			fleetMustContain(t, tt.name, r, tt.want, `id="create-task"`)
		}
	})

	t.Run("create a task", func(t *testing.T) {
		r := c.postForm("/console/ota/firmware/"+pid+"/2.0.0/tasks", url.Values{"DeviceName": {"dev1", "dev2"}, "MaxRetryNum": {"1"}})
		if r.status != http.StatusSeeOther || !regexp.MustCompile(`^/console/ota/tasks/`+pid+`/2\.0\.0/[0-9]+\?flash=`).MatchString(r.location) {
			t.Fatalf("create task: %d %q %s", r.status, r.location, r.body)
		}
		taskPath, _, _ = strings.Cut(r.location, "?")
		fleetMustContain(t, "task page", c.get(r.location), `id="task-devices"`, `data-device="dev1"`, `data-device="dev2"`, "started", `data-progress-url="`+taskPath+`/progress"`)
		fleetMustContain(t, "ota page", c.get("/console/ota"), `href="`+taskPath+`"`)
	})

	t.Run("task progress JSON", func(t *testing.T) {
		var prog struct {
			TaskId     uint64
			Status     int64
			StatusText string
			Finished   bool
			Total      int64
			Devices    []struct {
				DeviceName, StatusText, DstVersion string
				Status                             int64
			}
		}
		if st := c.getJSON(taskPath+"/progress", &prog); st != http.StatusOK {
			t.Fatalf("progress: %d", st)
		}
		if prog.StatusText != "running" || prog.Finished || prog.Total != 2 || len(prog.Devices) != 2 {
			t.Fatalf("progress = %+v", prog)
		}
		for _, d := range prog.Devices {
			if d.DstVersion != "2.0.0" || d.StatusText == "" {
				t.Fatalf("device %+v", d)
			}
		}
		var missing struct{ Error string }
		if st := c.getJSON("/console/ota/tasks/"+pid+"/2.0.0/999/progress", &missing); st != http.StatusNotFound || missing.Error == "" {
			t.Fatalf("unknown task: %d %+v", st, missing)
		}
	})

	t.Run("push and cancel", func(t *testing.T) {
		// The devices are offline: pushing now is refused with a message.
		r := c.postForm(taskPath+"/push", url.Values{"DeviceName": {"dev1"}})
		if r.status != http.StatusSeeOther && r.status != http.StatusBadRequest {
			t.Fatalf("push: %d %s", r.status, r.body)
		}
		bad := c.postForm(taskPath+"/status", url.Values{"Status": {"7"}})
		if bad.status != http.StatusBadRequest {
			t.Fatalf("bad status: %d", bad.status)
		}
		r = c.postForm(taskPath+"/status", url.Values{"Status": {"3"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("cancel: %d %s", r.status, r.body)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			var prog struct {
				StatusText string
				Finished   bool
			}
			c.getJSON(taskPath+"/progress", &prog)
			if prog.Finished && prog.StatusText == "canceled" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("task not canceled: %+v", prog)
			}
			time.Sleep(50 * time.Millisecond)
		}
		fleetMustContain(t, "canceled task page", c.get(taskPath), "This task is finished.")
	})
}
