package app_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/thingo-iot/thingo/internal/apptest"
)

var csrfRe = regexp.MustCompile(`data-csrf="([^"]+)"`)

// consoleRequest sends a request to the node's console with the session
// cookie (when not empty), without following redirects.
func consoleRequest(t *testing.T, n *apptest.Node, method, path, cookie string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+n.App.HTTPAddr().String()+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "thingo_session", Value: cookie})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestConsoleSessionSurvivesRestart logs in, restarts the node on the same
// data directory and keeps using the same cookie, then logs out.
func TestConsoleSessionSurvivesRestart(t *testing.T) {
	n := apptest.Start(t, "")
	cred := n.App.AdminCredential()
	resp, body := consoleRequest(t, n, http.MethodPost, "/console/login", "",
		url.Values{"secret_id": {cred.SecretID}, "secret_key": {cred.SecretKey}, "next": {"/console/projects"}})
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == "thingo_session" {
			cookie = c.Value
		}
	}
	if resp.StatusCode != http.StatusSeeOther || cookie == "" {
		t.Fatalf("login = %d, cookie %q; body %s", resp.StatusCode, cookie, body)
	}
	resp, body = consoleRequest(t, n, http.MethodGet, "/console/projects", cookie, nil)
	m := csrfRe.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("projects = %d %q, csrf found: %v", resp.StatusCode, resp.Header.Get("Location"), m != nil)
	}
	csrf := m[1]

	n.Stop()
	n = apptest.Start(t, n.DataDir)

	resp, body = consoleRequest(t, n, http.MethodGet, "/console/projects", cookie, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("projects after restart = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if m := csrfRe.FindStringSubmatch(body); m == nil || m[1] != csrf {
		t.Errorf("CSRF token after restart = %v, want %q", m, csrf)
	}

	resp, _ = consoleRequest(t, n, http.MethodPost, "/console/logout", cookie, url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
		t.Fatalf("logout = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = consoleRequest(t, n, http.MethodGet, "/console/projects", cookie, nil)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/console/login?next=") {
		t.Errorf("projects after logout = %d %q, want a redirect to the login", resp.StatusCode, resp.Header.Get("Location"))
	}
}
