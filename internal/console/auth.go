package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// cookieName holds the session id.
const cookieName = "thingo_session"

// session is one login.
type session struct {
	id      string
	user    string
	csrf    string
	expires time.Time
}

// sessionStore keeps logins in memory: a restart logs everybody out, and in
// a cluster each node has its own logins (the console is meant to be used
// through one node; see docs/console.md).
type sessionStore struct {
	mu   sync.Mutex
	byID map[string]*session
	ttl  time.Duration
	now  func() time.Time
}

func newSessionStore(ttl time.Duration, now func() time.Time) *sessionStore {
	return &sessionStore{byID: make(map[string]*session), ttl: ttl, now: now}
}

func randomToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (st *sessionStore) create(user string) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.now()
	for id, s := range st.byID { // drop expired ones while here
		if now.After(s.expires) {
			delete(st.byID, id)
		}
	}
	s := &session{id: randomToken(), user: user, csrf: randomToken(), expires: now.Add(st.ttl)}
	st.byID[s.id] = s
	return s
}

func (st *sessionStore) get(id string) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.byID[id]
	if !ok {
		return nil
	}
	if st.now().After(s.expires) {
		delete(st.byID, id)
		return nil
	}
	return s
}

func (st *sessionStore) remove(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.byID, id)
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

// authed lets a request through with a live session, redirecting pages to
// the login (scripts get 401). Unsafe methods must carry the session's CSRF
// token (form field "csrf" or header X-CSRF-Token) and, when the browser
// sends one, an Origin of this host.
func (s *Server) authed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sess *session
		if c, err := r.Cookie(cookieName); err == nil {
			sess = s.sessions.get(c.Value)
		}
		if sess == nil {
			if r.Method == http.MethodGet && !wantsJSON(r) {
				http.Redirect(w, r, Prefix+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
				return
			}
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not logged in (the session expired?): reload the page and log in again"})
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !sameOrigin(r) {
				http.Error(w, "cross-origin request refused", http.StatusForbidden)
				return
			}
			tok := r.Header.Get("X-CSRF-Token")
			if tok == "" {
				tok = r.PostFormValue("csrf")
			}
			if subtle.ConstantTimeCompare([]byte(tok), []byte(sess.csrf)) != 1 {
				http.Error(w, "missing or stale CSRF token: reload the page and try again", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	})
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json") ||
		strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// sameOrigin accepts requests without Origin (older browsers, curl) and
// those whose Origin host is the request's host.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" && r.Header.Get("Sec-Fetch-Site") == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

type loginData struct {
	Next     string
	SecretID string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", page{Title: "Log in", Data: loginData{Next: safeNext(r.URL.Query().Get("next"))}})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	id := strings.TrimSpace(r.PostFormValue("secret_id"))
	key := r.PostFormValue("secret_key")
	next := safeNext(r.PostFormValue("next"))
	if id == "" || key == "" || !s.cfg.CheckLogin(id, key) {
		s.log.Info("console login refused", "secret_id", id, "remote", r.RemoteAddr)
		s.render(w, r, http.StatusUnauthorized, "login", page{
			Title: "Log in", Error: "SecretId or SecretKey is wrong. Use the admin credential printed by `thingo admin credentials`.",
			Data: loginData{Next: next, SecretID: id},
		})
		return
	}
	sess := s.sessions.create(id)
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: sess.id, Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, Expires: sess.expires,
	})
	s.log.Info("console login", "secret_id", id, "remote", r.RemoteAddr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if sess := sessionFrom(r.Context()); sess != nil {
		s.sessions.remove(sess.id)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

// safeNext keeps redirects inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return Prefix
	}
	return next
}
