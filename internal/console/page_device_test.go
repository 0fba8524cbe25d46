package console

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/commlog"
	"github.com/thingo-iot/thingo/internal/devicedata"
)

func TestDevicePage(t *testing.T) {
	f := newDevFixture(t, true)
	f.traffic.recent = []commlog.Entry{
		{Seq: 0, Time: time.Now(), Direction: commlog.Event, OK: true, Kind: commlog.EventConnected, ClientIP: "192.0.2.7", Result: "connected from 192.0.2.7, keepalive 60s"},
		{Seq: 1, Time: time.Now(), Direction: commlog.Up, Topic: "$thing/up/property/" + f.pid + "/lamp",
			Payload: `{"method":"report","params":{"brightness":42}}`, Method: "report", OK: true, Result: "0 success"},
		{Seq: 2, Time: time.Now(), Direction: commlog.Down, Topic: "$thing/down/property/" + f.pid + "/lamp",
			Payload: `<script>alert(1)</script>`, OK: false, Result: "dropped"},
	}
	f.report(t, "lamp", `{"power_switch":1,"brightness":42,"color":2,"label":"desk","temperature":21.5}`)

	code, body := f.get(t, "/console/devices/"+f.pid+"/lamp")
	if code != http.StatusOK {
		t.Fatalf("HTTP %d:\n%s", code, body)
	}
	want := []string{
		`id="device-status" class="status-offline"`,
		`id="download-device-info" class="button" href="/console/devices/` + f.pid + `/lamp/device_info.json"`,
		`href="/console/devices/` + f.pid + `/lamp/credentials.txt"`,
		`<input type="checkbox" id="control-power_switch" data-control="power_switch" data-type="bool" checked>`,
		`<input type="range" id="control-brightness" data-control="brightness" data-type="int" min="0" max="100" step="1" value="42">`,
		`<select id="control-color" data-control="color" data-type="enum">`,
		`<option value="2" selected>blue (2)</option>`,
		`<input type="text" id="control-label" data-type="string" maxlength="16" value="desk">`,
		`<input type="number" id="control-alarm_at" data-type="timestamp"`,
		`id="prop-brightness" class="prop-value" data-value="42">42</span>`,
		`id="prop-power_switch" class="prop-value" data-value="1">1</span>`,
		`id="prop-label" class="prop-value" data-value="&#34;desk&#34;">desk</span>`,
		`id="prop-temperature" class="prop-value" data-value="21.5">21.5</span>`,
		`id="prop-alarm_at" class="prop-value" >—</span>`,
		`<form id="action-light_blink" class="action-form stack" data-action="light_blink">`,
		`id="action-light_blink-time" name="time" data-type="int" required min="0" max="60" step="1"`,
		`<pre id="action-output-light_blink"`,
		`<li class="log-entry" data-direction="up" data-ok="true" data-seq="1">`,
		`<li class="log-entry" data-direction="down" data-ok="false" data-seq="2">`,
		`&lt;script&gt;alert(1)&lt;/script&gt;`,
		`data-history="brightness" data-type="int"`,
		`/console/static/device.js`,
		`No events yet.`,
		`<dd id="device-ip">192.0.2.7</dd>`,
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %s", w)
		}
	}
	if strings.Contains(body, `id="control-temperature"`) {
		t.Error("read-only property has a control")
	}
	if strings.Contains(body, `data-history="label"`) {
		t.Error("string property has a chart")
	}

	if code, body := f.get(t, "/console/devices/"+f.pid+"/nobody"); code != http.StatusNotFound || !strings.Contains(body, `id="page-error"`) {
		t.Errorf("unknown device: HTTP %d", code)
	}
}

func TestDevicePageWithoutTraffic(t *testing.T) {
	f := newDevFixture(t, false)
	code, body := f.get(t, "/console/devices/"+f.pid+"/sleepy")
	if code != http.StatusOK || !strings.Contains(body, "Live log unavailable") || !strings.Contains(body, `id="comm-log"`) {
		t.Fatalf("HTTP %d:\n%s", code, body)
	}
}

func TestDeviceControl(t *testing.T) {
	f := newDevFixture(t, false)
	base := "/console/devices/" + f.pid + "/"
	tests := []struct {
		name   string
		device string
		body   string
		status int
		errHas string
	}{
		{"bool", "lamp", `{"id":"power_switch","value":1}`, 200, ""},
		{"bool as true", "lamp", `{"id":"power_switch","value":true}`, 200, ""},
		{"int", "lamp", `{"id":"brightness","value":55}`, 200, ""},
		{"int as text", "lamp", `{"id":"brightness","value":"55"}`, 200, ""},
		{"enum", "lamp", `{"id":"color","value":1}`, 200, ""},
		{"string", "lamp", `{"id":"label","value":"kitchen"}`, 200, ""},
		{"unknown id", "lamp", `{"id":"nope","value":1}`, 400, "unknown property"},
		{"out of range", "lamp", `{"id":"brightness","value":101}`, 400, "brightness"},
		{"wrong type", "lamp", `{"id":"brightness","value":"bright"}`, 400, "not a number"},
		{"string too long", "lamp", `{"id":"label","value":"0123456789abcdefXYZ"}`, 400, "label"},
		{"enum not mapped", "lamp", `{"id":"color","value":7}`, 400, "color"},
		{"read-only", "lamp", `{"id":"temperature","value":20}`, 400, "read-only"},
		{"no value", "lamp", `{"id":"brightness"}`, 400, "no value"},
		{"not JSON", "lamp", `brightness=1`, 400, "JSON"},
		{"offline", "sleepy", `{"id":"brightness","value":5}`, 409, "device is offline"},
		{"unknown device", "ghost", `{"id":"brightness","value":5}`, 404, "ResourceNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := f.postJSON(t, base+tt.device+"/control", tt.body)
			if code != tt.status {
				t.Fatalf("HTTP %d, want %d: %v", code, tt.status, out)
			}
			if tt.errHas == "" {
				if out["ok"] != true {
					t.Fatalf("answer %v", out)
				}
				return
			}
			msg, _ := out["error"].(string)
			if !strings.Contains(msg, tt.errHas) {
				t.Fatalf("error %q lacks %q", msg, tt.errHas)
			}
		})
	}

	req, _ := http.NewRequest("POST", f.srv.URL+base+"lamp/control", strings.NewReader(`{"id":"brightness","value":1}`))
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("without CSRF token: HTTP %d, want 403", resp.StatusCode)
	}
}

func TestDeviceAction(t *testing.T) {
	f := newDevFixture(t, false)
	base := "/console/devices/" + f.pid + "/"
	tests := []struct {
		name   string
		device string
		body   string
		status int
		errHas string
	}{
		{"ok", "lamp", `{"id":"light_blink","params":{"time":5}}`, 200, ""},
		{"ok as text", "lamp", `{"id":"light_blink","params":{"time":"5"}}`, 200, ""},
		{"unknown action", "lamp", `{"id":"explode","params":{}}`, 400, "unknown action"},
		{"missing input", "lamp", `{"id":"light_blink","params":{}}`, 400, "time"},
		{"extra input", "lamp", `{"id":"light_blink","params":{"time":1,"x":2}}`, 400, "not an input"},
		{"out of range", "lamp", `{"id":"light_blink","params":{"time":99}}`, 400, "time"},
		{"offline", "sleepy", `{"id":"light_blink","params":{"time":5}}`, 409, "offline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := f.postJSON(t, base+tt.device+"/action", tt.body)
			if code != tt.status {
				t.Fatalf("HTTP %d, want %d: %v", code, tt.status, out)
			}
			if tt.errHas == "" {
				got, _ := json.Marshal(out["output"])
				if out["ok"] != true || string(got) != `{"result":1}` {
					t.Fatalf("answer %v", out)
				}
				return
			}
			if msg, _ := out["error"].(string); !strings.Contains(msg, tt.errHas) {
				t.Fatalf("error %q lacks %q", msg, tt.errHas)
			}
		})
	}
}

func TestDeviceHistory(t *testing.T) {
	f := newDevFixture(t, false)
	for _, v := range []string{`{"brightness":10,"power_switch":true}`, `{"brightness":20,"power_switch":0}`} {
		f.report(t, "lamp", v)
	}
	base := "/console/devices/" + f.pid + "/lamp/history"
	tests := []struct {
		query  string
		status int
		values []float64
	}{
		{"?id=brightness&hours=1", 200, []float64{10, 20}},
		{"?id=power_switch", 200, []float64{1, 0}},
		{"?id=color", 200, nil},
		{"?id=nope", 400, nil},
		{"?id=brightness&hours=0", 400, nil},
		{"?id=brightness&hours=x", 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			code, body := f.get(t, base+tt.query)
			if code != tt.status {
				t.Fatalf("HTTP %d, want %d: %s", code, tt.status, body)
			}
			if code != 200 {
				return
			}
			var h devHistory
			if err := json.Unmarshal([]byte(body), &h); err != nil {
				t.Fatal(err)
			}
			if len(h.Points) != len(tt.values) {
				t.Fatalf("points %v, want values %v", h.Points, tt.values)
			}
			for i, p := range h.Points {
				if p[1] != tt.values[i] {
					t.Errorf("point %d = %v, want %v", i, p[1], tt.values[i])
				}
			}
		})
	}
}

// sseEvent is one parsed server-sent event.
type sseEvent struct{ name, data string }

// readSSE reads the next event (skipping comments and retry lines).
func readSSE(t *testing.T, r *bufio.Reader) sseEvent {
	t.Helper()
	var ev sseEvent
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if ev.name != "" || ev.data != "" {
				return ev
			}
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data += strings.TrimPrefix(line, "data: ")
		}
	}
}

func TestDeviceLive(t *testing.T) {
	f := newDevFixture(t, true)
	f.report(t, "lamp", `{"brightness":42}`)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a safety net, not an assertion
	defer cancel()
	resp := f.openLive(t, ctx, "lamp")
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	if ev := readSSE(t, r); ev.name != "status" || ev.data != `{"online":false}` {
		t.Fatalf("first event %+v", ev)
	}
	if ev := readSSE(t, r); ev.name != "data" || !strings.Contains(ev.data, `"brightness":{"Value":42`) {
		t.Fatalf("second event %+v", ev)
	}

	// A report on the property topic: the log entry, then fresh data.
	f.report(t, "lamp", `{"brightness":43}`)
	f.traffic.ch <- commlog.Entry{Seq: 7, Direction: commlog.Up, Topic: "$thing/up/property/" + f.pid + "/lamp",
		Method: "report", Payload: `{"method":"report","params":{"brightness":43}}`, OK: true, Result: "0 success"}
	ev := readSSE(t, r)
	var got commlog.Entry
	if ev.name != "log" || json.Unmarshal([]byte(ev.data), &got) != nil || got.Seq != 7 || got.Method != "report" {
		t.Fatalf("log event %+v", ev)
	}
	if ev := readSSE(t, r); ev.name != "data" || !strings.Contains(ev.data, `"brightness":{"Value":43`) {
		t.Fatalf("data event %+v", ev)
	}

	// A connection event: the log entry, then the status.
	f.traffic.ch <- commlog.Entry{Seq: 8, Direction: commlog.Event, Kind: commlog.EventConnected, ClientIP: "127.0.0.1", Result: "connected from 127.0.0.1, keepalive 60s", OK: true}
	if ev := readSSE(t, r); ev.name != "log" {
		t.Fatalf("log event %+v", ev)
	}
	if ev := readSSE(t, r); ev.name != "status" || ev.data != `{"online":true}` {
		t.Fatalf("status event %+v", ev)
	}

	cancel()
	devWaitFor(t, "the stream to end", func() bool { return f.traffic.watching.Load() == 0 && f.inflight.Load() == 0 })
}

func TestDeviceLiveUnknownDevice(t *testing.T) {
	f := newDevFixture(t, true)
	req, _ := http.NewRequest("GET", f.srv.URL+"/console/devices/"+f.pid+"/ghost/live", nil)
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("HTTP %d, want 404", resp.StatusCode)
	}
	if n := f.traffic.watching.Load(); n != 0 {
		t.Fatalf("%d watchers left", n)
	}
}

func TestDevicePageEvents(t *testing.T) {
	f := newDevFixture(t, false)
	now := time.Now()
	err := f.data.Write(t.Context(), devicedata.Batch{Events: []devicedata.EventRecord{
		{ProductID: f.pid, DeviceName: "lamp", EventID: "overheat", Type: "alert", At: now.Add(-time.Minute), Params: json.RawMessage(`{"t":99.5}`)},
		{ProductID: f.pid, DeviceName: "lamp", EventID: "overheat", Type: "alert", At: now, Params: json.RawMessage(`{"t":150}`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, body := f.get(t, "/console/devices/"+f.pid+"/lamp")
	i, j := strings.Index(body, `{&#34;t&#34;:150}`), strings.Index(body, `{&#34;t&#34;:99.5}`)
	if !strings.Contains(body, `<table id="events">`) || !strings.Contains(body, "Overheat <code>overheat</code>") || i < 0 || j < 0 || i > j {
		t.Fatalf("events table missing or not newest first:\n%s", body)
	}
}

func TestDeviceLiveWithoutTraffic(t *testing.T) {
	f := newDevFixture(t, false)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a safety net, not an assertion
	defer cancel()
	resp := f.openLive(t, ctx, "sleepy")
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if ev := readSSE(t, r); ev.name != "status" {
		t.Fatalf("first event %+v", ev)
	}
	if ev := readSSE(t, r); ev.name != "data" || ev.data != "{}" {
		t.Fatalf("second event %+v", ev)
	}
	cancel()
	devWaitFor(t, "the stream to end", func() bool { return f.inflight.Load() == 0 })
}

// TestDeviceLiveCommlog runs the stream over the real commlog.Log: an
// uplink, then the platform's reply that settles it, which the log sends
// again with the same Seq and the verdict.
func TestDeviceLiveCommlog(t *testing.T) {
	tr := commlog.New(commlog.Options{})
	f := newDevFixtureWith(t, tr)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a safety net, not an assertion
	defer cancel()
	resp := f.openLive(t, ctx, "lamp")
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	for _, want := range []string{"status", "data"} {
		if ev := readSSE(t, r); ev.name != want {
			t.Fatalf("event %+v, want %s", ev, want)
		}
	}
	up := "$thing/up/property/" + f.pid + "/lamp"
	tr.Record(commlog.Entry{ProductID: f.pid, DeviceName: "lamp", Direction: commlog.Up, Topic: up,
		Payload: `{"method":"report","clientToken":"t1","params":{"brightness":3}}`})
	var first commlog.Entry
	if ev := readSSE(t, r); ev.name != "log" || json.Unmarshal([]byte(ev.data), &first) != nil || first.Method != "report" {
		t.Fatalf("log event %+v", ev)
	}
	if ev := readSSE(t, r); ev.name != "data" {
		t.Fatalf("data event %+v", ev)
	}
	tr.Record(commlog.Entry{ProductID: f.pid, DeviceName: "lamp", Direction: commlog.Down, Topic: "$thing/down/property/" + f.pid + "/lamp",
		Payload: `{"method":"report_reply","clientToken":"t1","code":0,"status":"success"}`, OK: true, Result: "delivered"})
	seen := map[uint64]commlog.Entry{}
	devWaitFor(t, "the settled uplink", func() bool {
		ev := readSSE(t, r)
		var e commlog.Entry
		if ev.name == "log" && json.Unmarshal([]byte(ev.data), &e) == nil {
			seen[e.Seq] = e
		}
		s, ok := seen[first.Seq]
		return ok && s.Result != ""
	})
	cancel()
	devWaitFor(t, "the stream to end", func() bool { return f.inflight.Load() == 0 })
}

// TestDeviceLiveEndsOnClose: Close (registered with the HTTP server's
// shutdown) ends open streams, so a graceful shutdown does not wait for them.
func TestDeviceLiveEndsOnClose(t *testing.T) {
	f := newDevFixture(t, true)
	req, err := http.NewRequestWithContext(t.Context(), "GET", f.srv.URL+"/console/devices/"+f.pid+"/lamp/live", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if ev := readSSE(t, r); ev.name != "status" {
		t.Fatalf("first event %+v", ev)
	}
	f.con.Close()
	if _, err := io.ReadAll(r); err != nil {
		t.Fatalf("stream did not end cleanly: %v", err)
	}
	devWaitFor(t, "the stream to end", func() bool { return f.traffic.watching.Load() == 0 && f.inflight.Load() == 0 })
}

// openLive opens the device page's event stream of device, until ctx ends.
func (f *devFixture) openLive(t *testing.T, ctx context.Context, device string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/console/devices/"+f.pid+"/"+device+"/live", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
