package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/ingest"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/store/sqlite"
)

const testModel = `{"version":"1.0","profile":{"ProductId":"PRODUCTA01","CategoryId":"1"},
"properties":[
 {"id":"power_switch","name":"p","mode":"rw","define":{"type":"bool","mapping":{"0":"off","1":"on"}}},
 {"id":"brightness","name":"b","mode":"rw","define":{"type":"int","min":"0","max":"100","start":"0","step":"1"}},
 {"id":"name","name":"n","mode":"r","define":{"type":"string","min":"0","max":"64"}}],
"events":[{"id":"status_report","name":"s","type":"info","params":[
 {"id":"status","name":"s","define":{"type":"bool","mapping":{"0":"a","1":"b"}}},
 {"id":"message","name":"m","define":{"type":"string","min":"0","max":"64"}}]}],
"actions":[{"id":"light_blink","name":"l","input":[{"id":"time","name":"t","define":{"type":"int","min":"0","max":"10"}}],
 "output":[{"id":"err_code","name":"e","define":{"type":"int","min":"0","max":"9"}}]}]}`

// msg is a message the handler published.
type msg struct {
	topic   string
	payload []byte
}

// capture is a Publisher that records messages.
type capture struct {
	mu   sync.Mutex
	msgs []msg
	seen chan struct{}
}

func newCapture() *capture { return &capture{seen: make(chan struct{}, 1024)} }

func (c *capture) Publish(_ context.Context, _, _, topic string, payload []byte, _ byte) error {
	c.mu.Lock()
	c.msgs = append(c.msgs, msg{topic, append([]byte(nil), payload...)})
	c.mu.Unlock()
	c.seen <- struct{}{}
	return nil
}

// next waits for the next published message.
func (c *capture) next(t testing.TB) msg {
	t.Helper()
	select {
	case <-c.seen:
	case <-time.After(10 * time.Second):
		t.Fatal("no reply published")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.msgs[0]
	c.msgs = c.msgs[1:]
	return m
}

func (c *capture) none(t *testing.T) {
	t.Helper()
	// Replies follow the handler's own order: a marker message sent
	// after the message under test proves no reply came before it.
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.msgs) > 0 {
		t.Errorf("unexpected reply %s %s", c.msgs[0].topic, c.msgs[0].payload)
	}
}

type fixture struct {
	h    *ingest.Handler
	data *devicedata.Service
	pub  *capture
}

func newFixture(t testing.TB) fixture {
	pub := newCapture()
	f := newFixtureWith(t, pub)
	f.pub = pub
	return f
}

func newFixtureWith(t testing.TB, pub ingest.Publisher) fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Now().UTC()
	if err := st.CreateProject(ctx, registry.Project{ID: "P1", Name: "p", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"PRODUCTA01", "NOMODEL001"} {
		if err := st.CreateProduct(ctx, registry.Product{ID: id, ProjectID: "P1", Name: id, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	data, err := devicedata.NewService(devicedata.Config{Store: st, Publisher: pub, BatchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := data.DefineModel(ctx, "PRODUCTA01", testModel); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { data.Run(rctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	h, err := ingest.New(ingest.Config{Data: data, Publisher: pub})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{h: h, data: data}
}

var dev = devauth.Identity{ProductID: "PRODUCTA01", DeviceName: "dev1", ClientID: "PRODUCTA01dev1"}

func TestThingMessages(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	tests := []struct {
		name      string
		topic     string
		payload   string
		wantTopic string
		want      map[string]any // fields the reply must have
		status    string         // substring of the status
		noReply   bool
	}{
		{"report", "$thing/up/property/PRODUCTA01/dev1",
			`{"method":"report", "clientToken":"c1", "params":{"power_switch":1, "brightness":5, "name":"x"}}`,
			"$thing/down/property/PRODUCTA01/dev1", map[string]any{"method": "report_reply", "clientToken": "c1", "code": 0.0}, "", false},
		{"report with timestamp in ms", "$thing/up/property/PRODUCTA01/dev1",
			fmt.Sprintf(`{"method":"report","clientToken":"c1b","timestamp":%d,"params":{"brightness":6}}`, now.Add(time.Minute).UnixMilli()),
			"$thing/down/property/PRODUCTA01/dev1", map[string]any{"method": "report_reply", "code": 0.0}, "", false},
		{"report out of range", "$thing/up/property/PRODUCTA01/dev1",
			`{"method":"report","clientToken":"c2","params":{"power_switch":0,"brightness":200}}`,
			"$thing/down/property/PRODUCTA01/dev1", map[string]any{"method": "report_reply", "clientToken": "c2", "code": 406.0}, "brightness", false},
		{"report unknown property", "$thing/up/property/PRODUCTA01/dev1",
			`{"method":"report","clientToken":"c3","params":{"nope":1}}`,
			"$thing/down/property/PRODUCTA01/dev1", map[string]any{"code": 403.0}, "nope", false},
		{"report bad JSON", "$thing/up/property/PRODUCTA01/dev1", `{"method":"report",`,
			"$thing/down/property/PRODUCTA01/dev1", map[string]any{"code": 400.0, "clientToken": ""}, "", false},
		{"report old timestamp", "$thing/up/property/PRODUCTA01/dev1",
			`{"method":"report","clientToken":"c4","timestamp":1628646783,"params":{"brightness":1}}`,
			"$thing/down/property/PRODUCTA01/dev1", map[string]any{"code": 405.0}, "24h", false},
		{"numeric clientToken echoed", "$thing/up/property/PRODUCTA01/dev1",
			`{"method":"report","clientToken":77,"params":{}}`,
			"$thing/down/property/PRODUCTA01/dev1", map[string]any{"clientToken": 77.0, "code": 0.0}, "", false},
		{"get_status", "$thing/up/property/PRODUCTA01/dev1", `{"method":"get_status", "clientToken":"g1"}`,
			"$thing/down/property/PRODUCTA01/dev1", map[string]any{"method": "get_status_reply", "type": "report", "code": 0.0,
				"data": map[string]any{"reported": map[string]any{"power_switch": 1.0, "brightness": 6.0, "name": "x"}}}, "success", false},
		{"clear_control", "$thing/up/property/PRODUCTA01/dev1", `{"method":"clear_control","clientToken":"g1"}`,
			"$thing/down/property/PRODUCTA01/dev1", map[string]any{"method": "clear_control_reply", "code": 0.0}, "success", false},
		{"report_info", "$thing/up/property/PRODUCTA01/dev1",
			`{"method":"report_info","clientToken":"i1","params":{"module_hardinfo":"ESP8266","device_label":{"append_info":"x"}}}`,
			"$thing/down/property/PRODUCTA01/dev1", map[string]any{"method": "report_info_reply", "code": 0.0}, "success", false},
		{"event_post C", "$thing/up/event/PRODUCTA01/dev1",
			fmt.Sprintf(`{"method":"event_post","clientToken":"e1","eventId":"status_report","type":"info","timestamp":%d,"params":{"status":0,"message":""}}`, now.UnixMilli()),
			"$thing/down/event/PRODUCTA01/dev1", map[string]any{"method": "event_reply", "code": 0.0, "data": map[string]any{}}, "", false},
		{"event_post Python", "$thing/up/event/PRODUCTA01/dev1",
			fmt.Sprintf(`{"method":"event_post","clientToken":"e2","events":[{"eventId":"status_report","type":"info","timestamp":%d,"params":{"status":1,"message":"m"}}]}`, now.Unix()),
			"$thing/down/event/PRODUCTA01/dev1", map[string]any{"method": "event_reply", "code": 0.0}, "", false},
		{"events_post no clock", "$thing/up/event/PRODUCTA01/dev1",
			`{"method":"events_post","clientToken":"e3","events":[{"eventId":"status_report","type":"info","timestamp":0,"params":{"status":1,"message":"m"}}]}`,
			"$thing/down/event/PRODUCTA01/dev1", map[string]any{"method": "events_reply", "code": 0.0}, "", false},
		{"events_post unknown event", "$thing/up/event/PRODUCTA01/dev1",
			`{"method":"events_post","clientToken":"e4","events":[{"eventId":"hardware_fault","type":"fault","timestamp":0,"params":{}}]}`,
			"$thing/down/event/PRODUCTA01/dev1", map[string]any{"method": "events_reply", "code": 403.0, "data": map[string]any{}}, "hardware_fault", false},
		{"event type mismatch", "$thing/up/event/PRODUCTA01/dev1",
			`{"method":"event_post","clientToken":"e5","eventId":"status_report","type":"fault","params":{}}`,
			"$thing/down/event/PRODUCTA01/dev1", map[string]any{"code": 406.0}, "status_report", false},
		{"app_bind_token", "$thing/up/service/PRODUCTA01/dev1", `{"method":"app_bind_token","clientToken":"b1","params":{"token":"abc"}}`,
			"$thing/down/service/PRODUCTA01/dev1", map[string]any{"method": "app_bind_token_reply", "code": 0.0}, "success", false},
		{"unknown method", "$thing/up/property/PRODUCTA01/dev1", `{"method":"frobnicate","clientToken":"u1"}`,
			"$thing/down/property/PRODUCTA01/dev1", map[string]any{"method": "frobnicate_reply", "code": 403.0}, "frobnicate", false},
		{"no model", "$thing/up/property/NOMODEL001/dev1", `{"method":"report","clientToken":"n1","params":{"a":1}}`,
			"$thing/down/property/NOMODEL001/dev1", map[string]any{"code": 403.0}, "no thing model", false},
		{"log level", "$log/operation/PRODUCTA01/dev1", `{"type": "get_log_level", "clientToken": "l1"}`,
			"$log/operation/result/PRODUCTA01/dev1", map[string]any{"type": "get_log_level", "clientToken": "l1", "code": 0.0, "log_level": 1.0}, "", false},
		{"device reply needs no answer", "$thing/up/service/PRODUCTA01/dev1", `{"method":"alert_fence_event_reply","clientToken":"x","code":0}`,
			"", nil, "", true},
		{"control_reply Python", "$thing/up/property/PRODUCTA01/dev1", `{"code": 0, "clientToken": "ctl-1", "status": "ok"}`,
			"", nil, "", true},
		{"raw is not parsed", "$thing/up/raw/PRODUCTA01/dev1", "\x01\x02", "", nil, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.h.HandleUplink(context.Background(), dev, tc.topic, []byte(tc.payload))
			if tc.noReply {
				// A $sys request is answered synchronously: any reply to the
				// message under test would be queued before its answer.
				f.h.HandleUplink(context.Background(), dev, "$sys/operation/PRODUCTA01/dev1", []byte(`{"type":"get"}`))
				if m := f.pub.next(t); !strings.HasPrefix(m.topic, "$sys/") {
					t.Fatalf("unexpected reply %s %s", m.topic, m.payload)
				}
				f.pub.none(t)
				return
			}
			m := f.pub.next(t)
			if m.topic != tc.wantTopic {
				t.Fatalf("reply on %s, want %s", m.topic, tc.wantTopic)
			}
			if len(m.payload) >= 2048 {
				t.Errorf("reply is %d bytes", len(m.payload))
			}
			var got map[string]any
			if err := json.Unmarshal(m.payload, &got); err != nil {
				t.Fatalf("reply %s: %v", m.payload, err)
			}
			for k, v := range tc.want {
				if !jsonEqual(got[k], v) {
					t.Errorf("reply %s: %s = %v, want %v", m.payload, k, got[k], v)
				}
			}
			if s, _ := got["status"].(string); !strings.Contains(s, tc.status) {
				t.Errorf("status %q does not contain %q", s, tc.status)
			}
		})
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestSysTime(t *testing.T) {
	f := newFixture(t)
	before := time.Now().UnixMilli()
	f.h.HandleUplink(context.Background(), dev, "$sys/operation/PRODUCTA01/dev1", []byte(`{"type": "get", "resource": ["time"]}`))
	m := f.pub.next(t)
	var got struct {
		Type               string
		Time               int64
		NTPTime1, NTPTime2 int64
	}
	if err := json.Unmarshal(m.payload, &got); err != nil {
		t.Fatal(err)
	}
	if m.topic != "$sys/operation/result/PRODUCTA01/dev1" || got.Type != "get" || got.NTPTime1 < before ||
		got.NTPTime2 < got.NTPTime1 || got.Time != got.NTPTime2/1000 {
		t.Errorf("reply %s %s", m.topic, m.payload)
	}
	for _, k := range []string{`"ntptime1"`, `"ntptime2"`, `"time"`} {
		if !strings.Contains(string(m.payload), k) {
			t.Errorf("reply lacks %s", k)
		}
	}
}

func TestInvalidReportStoresNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.h.HandleUplink(ctx, dev, "$thing/up/property/PRODUCTA01/dev1", []byte(`{"method":"report","clientToken":"a","params":{"brightness":3,"power_switch":7}}`))
	f.pub.next(t)
	st, err := f.data.Status(ctx, "PRODUCTA01", "dev1")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Reported) != 0 {
		t.Errorf("stored %+v after a rejected report", st.Reported)
	}
}

func TestPendingControlLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.data.Control(ctx, "PRODUCTA01", "dev1", []byte(`{"brightness":12}`))
	if err != nil {
		t.Fatal(err)
	}
	ctl := f.pub.next(t)
	var c struct {
		Method, ClientToken string
		Params              map[string]int
	}
	if err := json.Unmarshal(ctl.payload, &c); err != nil || c.Method != "control" || c.ClientToken != res.ClientToken || c.Params["brightness"] != 12 {
		t.Fatalf("control %s: %v", ctl.payload, err)
	}
	if _, err := f.data.Control(ctx, "PRODUCTA01", "dev1", []byte(`{"name":"x"}`)); err == nil {
		t.Error("control of a read-only property accepted")
	}

	status := func() string {
		f.h.HandleUplink(ctx, dev, "$thing/up/property/PRODUCTA01/dev1", []byte(`{"method":"get_status","clientToken":"s"}`))
		return string(f.pub.next(t).payload)
	}
	if s := status(); !strings.Contains(s, `"control":{"brightness":12}`) {
		t.Errorf("get_status_reply = %s, want the pending control", s)
	}
	// The device acknowledges the control: it is no longer pending.
	f.h.HandleUplink(ctx, dev, "$thing/up/property/PRODUCTA01/dev1",
		[]byte(`{"method":"control_reply","code":0,"clientToken":"`+res.ClientToken+`"}`))
	if s := status(); strings.Contains(s, `"control"`) {
		t.Errorf("get_status_reply = %s after control_reply, want no control", s)
	}
}

func TestActionCall(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	type result struct {
		r   devicedata.ActionResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := f.data.CallAction(ctx, "PRODUCTA01", "dev1", "light_blink", []byte(`{"time":3}`), true)
		done <- result{r, err}
	}()
	act := f.pub.next(t)
	var a struct {
		Method, ClientToken string
		ActionID            string `json:"actionId"`
		Timestamp           int64
		Params              map[string]int
	}
	if err := json.Unmarshal(act.payload, &a); err != nil {
		t.Fatal(err)
	}
	if act.topic != "$thing/down/action/PRODUCTA01/dev1" || a.Method != "action" || a.Timestamp == 0 || a.Params["time"] != 3 {
		t.Fatalf("action %s %s", act.topic, act.payload)
	}
	f.h.HandleUplink(ctx, dev, "$thing/up/action/PRODUCTA01/dev1",
		[]byte(`{"method":"action_reply","clientToken":"`+a.ClientToken+`","code":0,"status":"done","response":{"err_code":1}}`))
	r := <-done
	if r.err != nil || r.r.Status != "done" || string(r.r.Output) != `{"err_code":1}` || r.r.OutputErr != nil {
		t.Errorf("CallAction = %+v, %v", r.r, r.err)
	}
	if _, err := f.data.CallAction(ctx, "PRODUCTA01", "dev1", "light_blink", []byte(`{}`), false); err == nil {
		t.Error("call without the declared input accepted")
	}
}

// counter is a Publisher that counts replies.
type counter struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (c *counter) Publish(context.Context, string, string, string, []byte, byte) error {
	if c.n.Add(1) == c.want {
		close(c.done)
	}
	return nil
}

// BenchmarkReportReply measures a report from HandleUplink to its
// report_reply, sent after the group commit.
func BenchmarkReportReply(b *testing.B) {
	pub := &counter{want: int64(b.N), done: make(chan struct{})}
	f := newFixtureWith(b, pub)
	ctx := context.Background()
	payload := []byte(`{"method":"report", "clientToken":"c", "params":{"power_switch":1, "brightness":5, "name":"bench"}}`)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f.h.HandleUplink(ctx, dev, "$thing/up/property/PRODUCTA01/dev1", payload)
		}
	})
	<-pub.done
}
