package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/thingo-iot/thingo/internal/api"
	"github.com/thingo-iot/thingo/internal/api/apitest"
	"github.com/thingo-iot/thingo/internal/console"
	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/secretbox"
	"github.com/thingo-iot/thingo/internal/store/sqlite"
)

// Console login of the tests.
const (
	coreAdminID  = "AKIDconsoletest"
	coreAdminKey = "console-test-key"
	coreMQTTHost = "127.0.0.1:1883"
)

// coreEnv is a console over a real API handler with a SQLite store in a
// temporary directory.
type coreEnv struct {
	t      *testing.T
	srv    *httptest.Server
	client *http.Client
	csrf   string
}

func newCoreEnv(t *testing.T) *coreEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	box, err := secretbox.New(make([]byte, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	data, err := devicedata.NewService(devicedata.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { data.Run(rctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	h, err := api.NewHandler(api.Config{
		Registry: registry.NewService(st, box, apitest.Issuer{}, nil),
		Keys:     api.StaticKeys{},
		Things:   data,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := console.New(console.Config{
		Actions:    h,
		CheckLogin: func(id, key string) bool { return id == coreAdminID && key == coreAdminKey },
		MQTTHost:   coreMQTTHost,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c) // 127.0.0.1, random port
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // the tests look at every redirect
	}}
	return &coreEnv{t: t, srv: srv, client: client}
}

// coreAnswer is a read response.
type coreAnswer struct {
	status   int
	location string
	header   http.Header
	body     string
}

func (e *coreEnv) do(req *http.Request) coreAnswer {
	e.t.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return coreAnswer{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header, body: string(b)}
}

func (e *coreEnv) get(path string) coreAnswer {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	a := e.do(req)
	if m := coreCSRFRe.FindStringSubmatch(a.body); m != nil && m[1] != "" {
		e.csrf = m[1]
	}
	return a
}

// post submits a form; the session's CSRF token is added unless form has
// a "csrf" entry already.
func (e *coreEnv) post(path string, form url.Values) coreAnswer {
	e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", e.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req)
}

var coreCSRFRe = regexp.MustCompile(`data-csrf="([^"]*)"`)

// login logs in and loads a page to learn the CSRF token.
func (e *coreEnv) login() {
	e.t.Helper()
	a := e.post("/console/login", url.Values{"secret_id": {coreAdminID}, "secret_key": {coreAdminKey}, "next": {"/console/projects"}})
	if a.status != http.StatusSeeOther || a.location != "/console/projects" {
		e.t.Fatalf("login = %d %q, want 303 to /console/projects", a.status, a.location)
	}
	if p := e.get("/console/projects"); p.status != http.StatusOK || e.csrf == "" {
		e.t.Fatalf("projects after login = %d, csrf %q", p.status, e.csrf)
	}
}

// wantRedirect checks a 303 whose location starts with prefix and returns it.
func (e *coreEnv) wantRedirect(what string, a coreAnswer, prefix string) string {
	e.t.Helper()
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.location, prefix) {
		e.t.Fatalf("%s = %d %q, want 303 to %s...; body:\n%s", what, a.status, a.location, prefix, a.body)
	}
	return a.location
}

func coreWantBody(t *testing.T, what string, a coreAnswer, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(a.body, p) {
			t.Errorf("%s: body lacks %q:\n%s", what, p, a.body)
		}
	}
}

func TestLogin(t *testing.T) {
	e := newCoreEnv(t)
	tests := []struct {
		name, id, key string
		status        int
	}{
		{"wrong key", coreAdminID, "nope", http.StatusUnauthorized},
		{"unknown id", "AKIDother", coreAdminKey, http.StatusUnauthorized},
		{"empty", "", "", http.StatusUnauthorized},
		{"right", coreAdminID, coreAdminKey, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.post("/console/login", url.Values{"secret_id": {tt.id}, "secret_key": {tt.key}})
			if a.status != tt.status {
				t.Fatalf("login = %d, want %d", a.status, tt.status)
			}
			if tt.status == http.StatusUnauthorized && !strings.Contains(a.body, `id="page-error"`) {
				t.Errorf("refused login shows no error:\n%s", a.body)
			}
		})
	}
}

func TestNeedsLogin(t *testing.T) {
	e := newCoreEnv(t)
	for _, path := range []string{"/console/projects", "/console/products", "/console/products/AB12CD34EF/model",
		"/console/devices", "/console/devices/AB12CD34EF/dev1/device_info.json"} {
		a := e.get(path)
		if a.status != http.StatusFound || !strings.HasPrefix(a.location, "/console/login?next=") {
			t.Errorf("GET %s without login = %d %q, want 302 to the login", path, a.status, a.location)
		}
	}
	if a := e.post("/console/projects", url.Values{"ProjectName": {"x"}}); a.status != http.StatusUnauthorized {
		t.Errorf("POST without login = %d, want 401", a.status)
	}
}

func TestCSRF(t *testing.T) {
	e := newCoreEnv(t)
	e.login()
	for _, tok := range []string{"", "forged"} {
		a := e.post("/console/projects", url.Values{"csrf": {tok}, "ProjectName": {"home"}, "ProjectDesc": {""}})
		if a.status != http.StatusForbidden {
			t.Errorf("POST with csrf %q = %d, want 403", tok, a.status)
		}
	}
	if a := e.get("/console/projects"); strings.Contains(a.body, ">home<") {
		t.Error("a project was created without a valid CSRF token")
	}
}

func TestCoreNotFound(t *testing.T) {
	e := newCoreEnv(t)
	e.login()
	tests := []struct{ method, path string }{
		{"GET", "/console/products/NOPRODUCT0"},
		{"GET", "/console/products/NOPRODUCT0/model"},
		{"POST", "/console/products/NOPRODUCT0/model"},
		{"GET", "/console/devices/NOPRODUCT0/dev1/device_info.json"},
		{"GET", "/console/devices/NOPRODUCT0/dev1/credentials.txt"},
		{"GET", "/console/devices/NOPRODUCT0/dev1/device_cert.crt"},
		{"POST", "/console/devices/NOPRODUCT0/dev1/delete"},
	}
	for _, tt := range tests {
		var a coreAnswer
		if tt.method == "GET" {
			a = e.get(tt.path)
		} else {
			a = e.post(tt.path, url.Values{"ModelSchema": {`{"version":"1.0","properties":[]}`}})
		}
		if a.status != http.StatusNotFound {
			t.Errorf("%s %s = %d, want 404:\n%s", tt.method, tt.path, a.status, a.body)
		}
	}
}
