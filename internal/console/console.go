// Package console serves the web console at /console/: server-rendered
// pages over the same actions as the management API (run in-process through
// an Invoker), live device views over server-sent events, and a small
// embedded script for progressive enhancement. Nothing is built with Node.
package console

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/thingo-iot/thingo/internal/commlog"
)

// Prefix is where the console is mounted.
const Prefix = "/console/"

// DefaultSessionTTL is how long a login lasts unless Config.SessionTTL says
// otherwise.
const DefaultSessionTTL = 12 * time.Hour

//go:embed templates/*.html static
var assets embed.FS

// Invoker runs a management API action in-process (api.Handler.Invoke).
// Errors carry the API's code and message (*api.Error satisfies CodedError).
type Invoker interface {
	Invoke(ctx context.Context, action string, params []byte) (json.RawMessage, error)
}

// CodedError is an action error with its Tencent code.
type CodedError interface {
	error
	ErrorCode() string
	ErrorMessage() string
}

// Traffic is the live conversation of devices (internal/commlog.Log).
type Traffic interface {
	// Recent returns up to n of the device's latest entries, oldest first.
	Recent(productID, deviceName string, n int) []commlog.Entry
	// Watch streams the device's new entries until ctx ends.
	Watch(ctx context.Context, productID, deviceName string) <-chan commlog.Entry
}

// Config configures a Server.
type Config struct {
	Actions Invoker // required
	Traffic Traffic // nil: no live log (the device page says so)
	// CheckLogin reports whether id and key are a valid admin credential.
	CheckLogin func(id, key string) bool // required
	// MQTTHost is the host:port devices connect to, shown in the
	// downloaded device_info.json and connection hints ("" : unknown).
	MQTTHost string
	// SessionTTL is how long a login lasts; 0 means DefaultSessionTTL.
	SessionTTL time.Duration
	// Sessions keeps the logins; nil keeps them in this process's memory
	// (a restart logs everybody out, cluster nodes do not share them).
	Sessions SessionStore
	Logger   *slog.Logger     // nil: discard
	Now      func() time.Time // nil: time.Now
}

// Server is the console's http.Handler.
type Server struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	pages    map[string]*template.Template
	sessions SessionStore
	ttl      time.Duration
	mux      *http.ServeMux
	stop     chan struct{} // closed by Close: live streams end
	stopOnce sync.Once
}

// Close ends the live streams (server-sent events) so that a graceful HTTP
// shutdown does not wait for them; register it with
// http.Server.RegisterOnShutdown. Pages keep working.
func (s *Server) Close() {
	s.stopOnce.Do(func() { close(s.stop) })
}

// New builds the console.
func New(cfg Config) (*Server, error) {
	if cfg.Actions == nil || cfg.CheckLogin == nil {
		return nil, errors.New("console: Actions and CheckLogin are required")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, stop: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.ttl = cfg.SessionTTL
	if s.ttl <= 0 {
		s.ttl = DefaultSessionTTL
	}
	s.sessions = cfg.Sessions
	if s.sessions == nil {
		s.sessions = newMemorySessions(s.now)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s.pages = pages
	s.mux = http.NewServeMux()
	s.routes(s.mux)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")
	s.mux.ServeHTTP(w, r)
}

// routes mounts every page. Pages other than login and the static assets
// need a session; unsafe methods need the session's CSRF token.
func (s *Server) routes(mux *http.ServeMux) {
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /console/login", s.loginPage)
	mux.HandleFunc("POST /console/login", s.login)
	mux.Handle("POST /console/logout", s.authed(http.HandlerFunc(s.logout)))
	mux.Handle("GET /console/{$}", s.authed(http.HandlerFunc(s.home)))
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusFound)
	})
	s.coreRoutes(mux)   // core.go: projects, products, thing model, devices
	s.deviceRoutes(mux) // device.go: device detail, live view, control panel
	s.fleetRoutes(mux)  // fleet.go: gateways and OTA
}

// handle mounts an authenticated page.
func (s *Server) handle(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	mux.Handle(pattern, s.authed(h))
}

// page is what every template gets.
type page struct {
	Title string
	Nav   string // the nav entry to highlight: projects, products, devices, gateways, ota
	CSRF  string
	User  string
	Flash string // a one-line success message
	Error string // a page-level error (field errors go in Data)
	Data  any
}

// render writes the page template name ("products" for
// templates/products.html) inside the layout. A template error is logged
// and answered 500 without partial output.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := s.pages[name]
	if !ok {
		s.log.Error("console: no such page", "page", name)
		http.Error(w, "page not found", http.StatusInternalServerError)
		return
	}
	if sess := sessionFrom(r.Context()); sess != nil {
		p.CSRF = sess.CSRF
		p.User = sess.User
	}
	if p.Flash == "" {
		p.Flash = r.URL.Query().Get("flash")
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("console: rendering page", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// call runs an action: req is marshalled to JSON, the answer is decoded into
// resp (nil: ignored). Errors are *ActionError.
func (s *Server) call(ctx context.Context, action string, req, resp any) error {
	params, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("console: encoding %s: %w", action, err)
	}
	raw, err := s.cfg.Actions.Invoke(ctx, action, params)
	if err != nil {
		var ce CodedError
		if errors.As(err, &ce) {
			return &ActionError{Action: action, Code: ce.ErrorCode(), Message: ce.ErrorMessage()}
		}
		return &ActionError{Action: action, Code: "InternalError", Message: err.Error()}
	}
	if resp == nil {
		return nil
	}
	if err := json.Unmarshal(raw, resp); err != nil {
		return fmt.Errorf("console: decoding %s: %w", action, err)
	}
	return nil
}

// ActionError is a failed action, shown to the user next to what caused it.
type ActionError struct {
	Action  string
	Code    string
	Message string
}

func (e *ActionError) Error() string { return e.Code + ": " + e.Message }

// userMessage is the text shown for err.
func userMessage(err error) string {
	var ae *ActionError
	if errors.As(err, &ae) {
		return ae.Message + " (" + ae.Code + ")"
	}
	return err.Error()
}

// fieldOf names the request field an action error is about ("" if none):
// the API says "parameter X: ..." or "missing required parameter X".
func fieldOf(err error) string {
	var ae *ActionError
	if !errors.As(err, &ae) {
		return ""
	}
	for _, p := range []string{"missing required parameter ", "parameter "} {
		if i := strings.Index(ae.Message, p); i >= 0 {
			rest := ae.Message[i+len(p):]
			if j := strings.IndexAny(rest, ": ,"); j >= 0 {
				rest = rest[:j]
			}
			return rest
		}
	}
	return ""
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, Prefix+"products", http.StatusFound)
}

// writeJSON answers a script's fetch.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// parsePages builds one template set per page: layout.html, every
// partial (files starting with "_") and the page itself.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	var partials []string
	for _, n := range names {
		if strings.HasPrefix(n[len("templates/"):], "_") {
			partials = append(partials, n)
		}
	}
	pages := make(map[string]*template.Template)
	for _, n := range names {
		base := strings.TrimSuffix(n[len("templates/"):], ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		files := append([]string{"templates/layout.html"}, partials...)
		files = append(files, n)
		t, err := template.New(base).Funcs(templateFuncs()).ParseFS(assets, files...)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// templateFuncs are the template helpers.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"unixTime": func(sec int64) string {
			if sec <= 0 {
				return "never"
			}
			return time.Unix(sec, 0).UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"json": func(v any) (string, error) {
			b, err := json.MarshalIndent(v, "", "  ")
			return string(b), err
		},
	}
}
