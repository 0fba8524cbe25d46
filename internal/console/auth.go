package console

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// cookieName holds the session id.
const cookieName = "thingo_session"

// sessionTimeout bounds one call to the session store.
const sessionTimeout = 5 * time.Second

// Messages shown on the login page for ?error=... (fixed texts: the query
// cannot put arbitrary words on the page).
var loginErrors = map[string]string{
	"sessions": "Sessions are unavailable right now (the session store did not answer), so your login could not be checked. Log in again, or try again in a moment.",
	"logout":   "You are logged out in this browser, but the session could not be ended on the server (sessions unavailable); it expires by itself.",
}

// lookup returns the live session named by the request's cookie. A store
// error is returned as is; an unknown or expired session is (nil, nil).
func (s *Server) lookup(r *http.Request) (*Session, error) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), sessionTimeout)
	defer cancel()
	sess, ok, err := s.sessions.Get(ctx, c.Value)
	if err != nil {
		return nil, err
	}
	if !ok || sess.ID != c.Value || !s.now().Before(sess.Expires) {
		return nil, nil
	}
	return &sess, nil
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s
}

// authed lets a request through with a live session, redirecting pages to
// the login (scripts get 401). Unsafe methods must carry the session's CSRF
// token (form field "csrf" or header X-CSRF-Token) and, when the browser
// sends one, an Origin of this host.
func (s *Server) authed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.lookup(r)
		if err != nil {
			s.log.Error("console: session store unavailable", "err", err, "remote", r.RemoteAddr)
			if wantsJSON(r) {
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "sessions unavailable: your login could not be checked; try again in a moment"})
				return
			}
			http.Redirect(w, r, Prefix+"login?error=sessions&next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
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
			if subtle.ConstantTimeCompare([]byte(tok), []byte(sess.CSRF)) != 1 {
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
	q := r.URL.Query()
	s.render(w, r, http.StatusOK, "login", page{Title: "Log in", Error: loginErrors[q.Get("error")], Data: loginData{Next: safeNext(q.Get("next"))}})
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
	sess := Session{ID: randomToken(), User: id, CSRF: randomToken(), Expires: s.now().Add(s.ttl)}
	ctx, cancel := context.WithTimeout(r.Context(), sessionTimeout)
	defer cancel()
	if err := s.sessions.Create(ctx, sess); err != nil {
		s.log.Error("console login failed: session store unavailable", "secret_id", id, "remote", r.RemoteAddr, "err", err)
		s.render(w, r, http.StatusServiceUnavailable, "login", page{
			Title: "Log in", Error: "Sessions unavailable: the node could not store your login (its session store did not answer). Try again in a moment.",
			Data: loginData{Next: next, SecretID: id},
		})
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: sess.ID, Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, Expires: sess.Expires,
	})
	s.log.Info("console login", "secret_id", id, "remote", r.RemoteAddr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	target := Prefix + "login"
	if sess := sessionFrom(r.Context()); sess != nil {
		ctx, cancel := context.WithTimeout(r.Context(), sessionTimeout)
		defer cancel()
		if err := s.sessions.Delete(ctx, sess.ID); err != nil {
			s.log.Error("console logout: session store unavailable", "secret_id", sess.User, "remote", r.RemoteAddr, "err", err)
			target += "?error=logout"
		}
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext keeps redirects inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return Prefix
	}
	return next
}
