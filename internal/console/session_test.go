package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMemorySessions(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		create []Session
		delete []string
		at     time.Duration // clock offset from t0 at Get
		get    string
		want   bool
	}{
		{"created", []Session{{ID: "a", Expires: t0.Add(time.Hour)}}, nil, 0, "a", true},
		{"unknown", []Session{{ID: "a", Expires: t0.Add(time.Hour)}}, nil, 0, "b", false},
		{"last instant", []Session{{ID: "a", Expires: t0.Add(time.Hour)}}, nil, time.Hour, "a", true},
		{"expired", []Session{{ID: "a", Expires: t0.Add(time.Hour)}}, nil, time.Hour + time.Second, "a", false},
		{"deleted", []Session{{ID: "a", Expires: t0.Add(time.Hour)}}, []string{"a"}, 0, "a", false},
		{"delete missing", nil, []string{"a"}, 0, "a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			m := newMemorySessions(func() time.Time { return now })
			ctx := context.Background()
			for _, s := range tt.create {
				if err := m.Create(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range tt.delete {
				if err := m.Delete(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			now = t0.Add(tt.at)
			got, ok, err := m.Get(ctx, tt.get)
			if err != nil || ok != tt.want || ok && got.ID != tt.get {
				t.Errorf("Get(%q) = %+v, %v, %v; want found=%v", tt.get, got, ok, err, tt.want)
			}
		})
	}
}

// TestMemorySessionsDropExpired checks that expired sessions do not pile up
// when nobody asks for them again.
func TestMemorySessionsDropExpired(t *testing.T) {
	now := time.Unix(1800000000, 0)
	m := newMemorySessions(func() time.Time { return now })
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		_ = m.Create(ctx, Session{ID: id, Expires: now.Add(time.Minute)})
	}
	now = now.Add(time.Hour)
	_ = m.Create(ctx, Session{ID: "d", Expires: now.Add(time.Minute)})
	m.mu.Lock()
	n := len(m.byID)
	m.mu.Unlock()
	if n != 1 {
		t.Errorf("%d sessions kept, want 1", n)
	}
}

// fakeSessions is a SessionStore whose calls can fail. Like a KV bucket
// that has not purged yet, it keeps expired sessions.
type fakeSessions struct {
	mu                           sync.Mutex
	byID                         map[string]Session
	createErr, getErr, deleteErr error
}

func (f *fakeSessions) Create(_ context.Context, s Session) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.createErr != nil {
		return f.createErr
	}
	f.byID[s.ID] = s
	return nil
}

func (f *fakeSessions) Get(_ context.Context, id string) (Session, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.getErr != nil {
		return Session{}, false, f.getErr
	}
	s, ok := f.byID[id]
	return s, ok, nil
}

func (f *fakeSessions) Delete(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.deleteErr != nil {
		return f.deleteErr
	}
	delete(f.byID, id)
	return nil
}

// stored returns what the store holds under id.
func (f *fakeSessions) stored(id string) (Session, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.byID[id]
	return s, ok
}

func (f *fakeSessions) set(fn func(f *fakeSessions)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// noActions is an Invoker for tests that call no action.
type noActions struct{}

func (noActions) Invoke(context.Context, string, []byte) (json.RawMessage, error) {
	return nil, errors.New("no actions in this test")
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type sessionEnv struct {
	t     *testing.T
	store *fakeSessions
	srv   *httptest.Server
	logs  *syncBuffer
	now   time.Time
	mu    sync.Mutex
}

func newSessionEnv(t *testing.T) *sessionEnv {
	e := &sessionEnv{t: t, store: &fakeSessions{byID: make(map[string]Session)}, logs: &syncBuffer{},
		now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	s, err := New(Config{
		Actions:    noActions{},
		CheckLogin: func(id, key string) bool { return id == "AKIDadmin" && key == "key" },
		Sessions:   e.store,
		SessionTTL: time.Hour,
		Logger:     slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now: func() time.Time {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.now
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(s)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *sessionEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// do sends a request with the session cookie (when not empty) and returns
// the response, its body read.
func (e *sessionEnv) do(method, path, cookie string, form url.Values, header http.Header) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: cookieName, Value: cookie})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp, b.String()
}

// login logs in and returns the session cookie ("" when none was set).
func (e *sessionEnv) login() (*http.Response, string, string) {
	e.t.Helper()
	resp, body := e.do(http.MethodPost, "/console/login", "",
		url.Values{"secret_id": {"AKIDadmin"}, "secret_key": {"key"}, "next": {"/console/devices"}}, nil)
	for _, c := range resp.Cookies() {
		if c.Name == cookieName {
			return resp, body, c.Value
		}
	}
	return resp, body, ""
}

func TestSessionStoreUse(t *testing.T) {
	storeDown := errors.New("store down")
	jsonAccept := http.Header{"Accept": {"application/json"}}
	tests := []struct {
		name string
		// before runs after a successful login, with its cookie.
		before     func(e *sessionEnv, cookie string)
		method     string
		json       bool
		wantStatus int
		wantLoc    string // prefix of Location
	}{
		{"live session", nil, http.MethodGet, false, http.StatusFound, "/console/products"},
		{"unknown cookie", func(e *sessionEnv, _ string) {
			e.store.set(func(f *fakeSessions) { clear(f.byID) })
		}, http.MethodGet, false, http.StatusFound, "/console/login?next="},
		{"unknown cookie, script", func(e *sessionEnv, _ string) {
			e.store.set(func(f *fakeSessions) { clear(f.byID) })
		}, http.MethodGet, true, http.StatusUnauthorized, ""},
		{"expired but still stored", func(e *sessionEnv, _ string) { e.advance(time.Hour + time.Second) },
			http.MethodGet, false, http.StatusFound, "/console/login?next="},
		{"store error on a page", func(e *sessionEnv, _ string) {
			e.store.set(func(f *fakeSessions) { f.getErr = storeDown })
		}, http.MethodGet, false, http.StatusSeeOther, "/console/login?error=sessions&next="},
		{"store error on a script", func(e *sessionEnv, _ string) {
			e.store.set(func(f *fakeSessions) { f.getErr = storeDown })
		}, http.MethodGet, true, http.StatusServiceUnavailable, ""},
		{"store error on a form", func(e *sessionEnv, _ string) {
			e.store.set(func(f *fakeSessions) { f.getErr = storeDown })
		}, http.MethodPost, false, http.StatusSeeOther, "/console/login?error=sessions&next="},
		{"stored under another id", func(e *sessionEnv, cookie string) {
			e.store.set(func(f *fakeSessions) { s := f.byID[cookie]; s.ID = "other"; f.byID[cookie] = s })
		}, http.MethodGet, false, http.StatusFound, "/console/login?next="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSessionEnv(t)
			resp, _, cookie := e.login()
			if resp.StatusCode != http.StatusSeeOther || cookie == "" {
				t.Fatalf("login = %d, cookie %q", resp.StatusCode, cookie)
			}
			if tt.before != nil {
				tt.before(e, cookie)
			}
			var h http.Header
			if tt.json {
				h = jsonAccept
			}
			path := "/console/"
			var form url.Values
			if tt.method == http.MethodPost {
				path, form = "/console/logout", url.Values{}
			}
			resp, body := e.do(tt.method, path, cookie, form, h)
			if resp.StatusCode != tt.wantStatus || !strings.HasPrefix(resp.Header.Get("Location"), tt.wantLoc) {
				t.Fatalf("%s %s = %d %q, want %d %q; body %s", tt.method, path, resp.StatusCode, resp.Header.Get("Location"), tt.wantStatus, tt.wantLoc, body)
			}
			if strings.Contains(e.logs.String(), cookie) {
				t.Errorf("the session id was logged:\n%s", e.logs.String())
			}
		})
	}
}

func TestLoginStoresSession(t *testing.T) {
	e := newSessionEnv(t)
	resp, _, cookie := e.login()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/devices" {
		t.Fatalf("login = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	s, ok := e.store.stored(cookie)
	if !ok || s.ID != cookie || s.User != "AKIDadmin" || s.CSRF == "" || !s.Expires.Equal(e.now.Add(time.Hour)) {
		t.Fatalf("stored session %+v (found %v)", s, ok)
	}
	// The CSRF token comes from the store.
	if resp, body := e.do(http.MethodPost, "/console/logout", cookie, url.Values{"csrf": {"wrong"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout with a wrong token = %d %s", resp.StatusCode, body)
	}
	resp, _ = e.do(http.MethodPost, "/console/logout", cookie, url.Values{"csrf": {s.CSRF}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
		t.Fatalf("logout = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, ok := e.store.stored(cookie); ok {
		t.Error("logout left the session in the store")
	}
	if resp, _ := e.do(http.MethodGet, "/console/", cookie, nil, nil); !strings.HasPrefix(resp.Header.Get("Location"), "/console/login?next=") {
		t.Errorf("after logout GET = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if strings.Contains(e.logs.String(), cookie) {
		t.Errorf("the session id was logged:\n%s", e.logs.String())
	}
}

func TestLoginStoreErrors(t *testing.T) {
	e := newSessionEnv(t)
	e.store.set(func(f *fakeSessions) { f.createErr = errors.New("store down") })
	resp, body, cookie := e.login()
	if resp.StatusCode != http.StatusServiceUnavailable || cookie != "" || !strings.Contains(body, "Sessions unavailable") {
		t.Fatalf("login with a failing store = %d, cookie %q; body %s", resp.StatusCode, cookie, body)
	}

	// The message a failed Get redirects to.
	_, body = e.do(http.MethodGet, "/console/login?error=sessions&next=%2Fconsole%2Fdevices", "", nil, nil)
	if !strings.Contains(body, "Sessions are unavailable") || !strings.Contains(body, `value="/console/devices"`) {
		t.Errorf("login page with error=sessions:\n%s", body)
	}
	if _, body := e.do(http.MethodGet, "/console/login?error=%3Cb%3Eboo", "", nil, nil); strings.Contains(body, "boo") {
		t.Errorf("login page shows an arbitrary error:\n%s", body)
	}

	// A logout the store refuses still clears the cookie, and says so.
	e.store.set(func(f *fakeSessions) { f.createErr = nil })
	_, _, cookie = e.login()
	stored, _ := e.store.stored(cookie)
	csrf := stored.CSRF
	e.store.set(func(f *fakeSessions) { f.deleteErr = errors.New("store down") })
	resp, _ = e.do(http.MethodPost, "/console/logout", cookie, url.Values{"csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login?error=logout" {
		t.Fatalf("logout with a failing store = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cleared := false
	for _, c := range resp.Cookies() {
		cleared = cleared || c.Name == cookieName && c.MaxAge < 0
	}
	if !cleared {
		t.Error("logout did not clear the cookie")
	}
	if strings.Contains(e.logs.String(), cookie) {
		t.Errorf("the session id was logged:\n%s", e.logs.String())
	}
}
