package console

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/api"
	"github.com/thingo-iot/thingo/internal/api/apitest"
	"github.com/thingo-iot/thingo/internal/commlog"
	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/secretbox"
	"github.com/thingo-iot/thingo/internal/store/sqlite"
)

// devTestModel covers every control kind of the device page.
const devTestModel = `{"version":"1.0","profile":{"ProductId":"X","CategoryId":"1"},
"properties":[
 {"id":"power_switch","name":"Power","mode":"rw","define":{"type":"bool","mapping":{"0":"off","1":"on"}}},
 {"id":"brightness","name":"Brightness","mode":"rw","define":{"type":"int","min":"0","max":"100","step":"1","unit":"%"}},
 {"id":"color","name":"Color","mode":"rw","define":{"type":"enum","mapping":{"0":"red","1":"green","2":"blue"}}},
 {"id":"label","name":"Label","mode":"rw","define":{"type":"string","min":"0","max":"16"}},
 {"id":"alarm_at","name":"Alarm","mode":"rw","define":{"type":"timestamp"}},
 {"id":"temperature","name":"Temperature","mode":"r","define":{"type":"float","min":"-40","max":"120","step":"0.1","unit":"C"}}
],
"events":[{"id":"overheat","name":"Overheat","type":"alert","params":[{"id":"t","name":"t","define":{"type":"float","min":"0","max":"200"}}]}],
"actions":[{"id":"light_blink","name":"Blink","input":[{"id":"time","name":"Time","define":{"type":"int","min":"0","max":"60","step":"1"}}],
 "output":[{"id":"result","name":"Result","define":{"type":"int","min":"0","max":"10","step":"1"}}]}]}`

// Test console login.
const (
	devTestUser = "AKIDadmin"
	devTestKey  = "admin-secret"
)

var _ Traffic = (*commlog.Log)(nil)

// devFakeTraffic is a channel-backed Traffic: entries sent on ch go to the
// (single) watcher; watching counts live watchers.
type devFakeTraffic struct {
	recent   []commlog.Entry
	ch       chan commlog.Entry
	watching atomic.Int32
}

func (f *devFakeTraffic) Recent(_, _ string, n int) []commlog.Entry {
	if len(f.recent) > n {
		return f.recent[len(f.recent)-n:]
	}
	return f.recent
}

func (f *devFakeTraffic) Watch(ctx context.Context, _, _ string) <-chan commlog.Entry {
	out := make(chan commlog.Entry)
	f.watching.Add(1)
	go func() {
		defer f.watching.Add(-1)
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-f.ch:
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// devFakePub is the devicedata Publisher: devices in online accept
// messages; an action call is answered with {"result":1}.
type devFakePub struct {
	mu     sync.Mutex
	online map[string]bool
	data   *devicedata.Service
	sent   []string // topics
	wg     sync.WaitGroup
}

func (p *devFakePub) Publish(ctx context.Context, pid, dn, topic string, payload []byte, _ byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.online[pid+"/"+dn] {
		return devicedata.ErrDeviceOffline
	}
	p.sent = append(p.sent, topic)
	if strings.HasPrefix(topic, "$thing/down/action/") {
		var msg struct{ ClientToken string }
		_ = json.Unmarshal(payload, &msg)
		data := p.data
		p.wg.Go(func() {
			_ = data.ActionReply(context.Background(), pid, dn, devicedata.ActionResult{
				ClientToken: msg.ClientToken, Code: 0, Status: "ok", Output: json.RawMessage(`{"result":1}`),
			})
		})
	}
	return nil
}

func (p *devFakePub) setOnline(pid, dn string, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.online[pid+"/"+dn] = on
}

// devFixture is a console over a real api.Handler, SQLite registry and
// device data, with one product (devTestModel) and two devices: "lamp"
// (online for the data service) and "sleepy" (offline).
type devFixture struct {
	srv      *httptest.Server
	client   *http.Client
	csrf     string
	pid      string
	traffic  *devFakeTraffic
	pub      *devFakePub
	data     *devicedata.Service
	handler  *api.Handler
	inflight *atomic.Int32 // console requests being served
	con      *Server
}

func newDevFixture(t *testing.T, withTraffic bool) *devFixture {
	t.Helper()
	if !withTraffic {
		return newDevFixtureWith(t, nil)
	}
	fake := &devFakeTraffic{ch: make(chan commlog.Entry)}
	f := newDevFixtureWith(t, fake)
	f.traffic = fake
	return f
}

// newDevFixtureWith builds the fixture over tr (nil: no Traffic).
func newDevFixtureWith(t *testing.T, tr Traffic) *devFixture {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	box, err := secretbox.New(make([]byte, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	pub := &devFakePub{online: map[string]bool{}}
	data, err := devicedata.NewService(devicedata.Config{Store: st, Publisher: pub, BatchDelay: time.Millisecond, ActionTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pub.data = data
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { data.Run(rctx); close(done) }()
	t.Cleanup(func() { pub.wg.Wait(); cancel(); <-done })

	h, err := api.NewHandler(api.Config{
		Registry: registry.NewService(st, box, apitest.Issuer{}, nil),
		Keys:     api.StaticKeys{}, Things: data,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &devFixture{pub: pub, data: data, handler: h, inflight: &atomic.Int32{}}
	var proj struct{ Project struct{ ProjectId string } }
	f.invoke(t, "CreateProject", map[string]any{"ProjectName": "home", "ProjectDesc": ""}, &proj)
	var prod struct{ Product struct{ ProductId string } }
	f.invoke(t, "CreateStudioProduct", map[string]any{
		"ProductName": "light", "CategoryId": 1, "ProductType": 0, "EncryptionType": "2", "NetType": "wifi",
		"DataProtocol": 1, "ProductDesc": "", "ProjectId": proj.Project.ProjectId,
	}, &prod)
	f.pid = prod.Product.ProductId
	f.invoke(t, "ModifyModelDefinition", map[string]any{"ProductId": f.pid, "ModelSchema": devTestModel}, nil)
	for _, dn := range []string{"lamp", "sleepy"} {
		f.invoke(t, "CreateDevice", map[string]any{"ProductId": f.pid, "DeviceName": dn}, nil)
	}
	pub.setOnline(f.pid, "lamp", true)

	cfg := Config{
		Actions:    h,
		CheckLogin: func(id, key string) bool { return id == devTestUser && key == devTestKey },
	}
	if tr != nil {
		cfg.Traffic = tr
	}
	con, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.con = con
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.inflight.Add(1)
		defer f.inflight.Add(-1)
		con.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	f.client = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := f.client.PostForm(f.srv.URL+"/console/login", url.Values{"secret_id": {devTestUser}, "secret_key": {devTestKey}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: HTTP %d", resp.StatusCode)
	}
	_, body := f.get(t, "/console/devices/"+f.pid+"/lamp")
	m := regexp.MustCompile(`data-csrf="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", body)
	}
	f.csrf = m[1]
	return f
}

// invoke runs an action on the API handler directly.
func (f *devFixture) invoke(t *testing.T, action string, req, resp any) {
	t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.handler.Invoke(t.Context(), action, b)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	if resp != nil {
		if err := json.Unmarshal(raw, resp); err != nil {
			t.Fatalf("%s: %v", action, err)
		}
	}
}

// report stores values as if the device had reported them.
func (f *devFixture) report(t *testing.T, dn, data string) {
	t.Helper()
	f.invoke(t, "ControlDeviceData", map[string]any{"ProductId": f.pid, "DeviceName": dn, "Data": data, "Method": "reported"}, nil)
}

func (f *devFixture) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := f.client.Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// postJSON posts body with the CSRF header and decodes the JSON answer.
func (f *devFixture) postJSON(t *testing.T, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", f.srv.URL+path, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-CSRF-Token", f.csrf)
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		return resp.StatusCode, map[string]any{"raw": string(b)}
	}
	return resp.StatusCode, out
}

// devWaitFor polls cond until it holds or the deadline passes.
func devWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
