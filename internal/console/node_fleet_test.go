package console_test

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/thingo-iot/thingo/internal/apptest"
)

// fleetClient is a browser logged in to a node's console.
type fleetClient struct {
	t    *testing.T
	node *apptest.Node
	base string // http://127.0.0.1:port
	http *http.Client
	csrf string
}

// startFleetNode starts a node (all on 127.0.0.1, random ports) and logs in
// to its console with the admin credential.
func startFleetNode(t *testing.T) *fleetClient {
	t.Helper()
	n := apptest.Start(t, t.TempDir())
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &fleetClient{
		t: t, node: n, base: "http://" + n.App.HTTPAddr().String(),
		http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
	resp := c.do(http.MethodPost, "/console/login", "application/x-www-form-urlencoded", strings.NewReader(url.Values{
		"secret_id": {n.API.SecretID}, "secret_key": {n.API.SecretKey}, "next": {"/console/ota"},
	}.Encode()), nil)
	if resp.status != http.StatusSeeOther {
		t.Fatalf("login: %d %s", resp.status, resp.body)
	}
	page := c.get("/console/ota")
	m := regexp.MustCompile(`data-csrf="([^"]+)"`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no CSRF token on the OTA page: %s", page.body)
	}
	c.csrf = m[1]
	return c
}

// fleetResponse is a read answer.
type fleetResponse struct {
	status   int
	location string
	header   http.Header
	body     string
}

func (c *fleetClient) do(method, path, contentType string, body io.Reader, header http.Header) fleetResponse {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return fleetResponse{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header, body: string(b)}
}

func (c *fleetClient) get(path string) fleetResponse {
	c.t.Helper()
	return c.do(http.MethodGet, path, "", nil, nil)
}

// postForm posts a url-encoded form with the CSRF token.
func (c *fleetClient) postForm(path string, v url.Values) fleetResponse {
	c.t.Helper()
	v.Set("csrf", c.csrf)
	return c.do(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()), nil)
}

// postJSON posts as ota.js does.
func (c *fleetClient) postJSON(path string, v any, out any) int {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	resp := c.do(http.MethodPost, path, "application/json", bytes.NewReader(b),
		http.Header{"X-Csrf-Token": {c.csrf}, "Accept": {"application/json"}})
	if out != nil {
		if err := json.Unmarshal([]byte(resp.body), out); err != nil {
			c.t.Fatalf("POST %s: %d %q: %v", path, resp.status, resp.body, err)
		}
	}
	return resp.status
}

// postMultipart posts fields and, when file is non-nil, a file part
// named File (last, as a browser sends the form).
func (c *fleetClient) postMultipart(path string, fields map[string]string, file []byte, withHeaderToken bool) fleetResponse {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if !withHeaderToken {
		_ = mw.WriteField("csrf", c.csrf)
	}
	for _, k := range []string{"ProductId", "FirmwareVersion", "FirmwareName", "FirmwareDescription"} {
		if v, ok := fields[k]; ok {
			_ = mw.WriteField(k, v)
		}
	}
	if file != nil {
		w, err := mw.CreateFormFile("File", "fw.bin")
		if err != nil {
			c.t.Fatal(err)
		}
		_, _ = w.Write(file)
	} else {
		_, _ = mw.CreateFormFile("File", "")
	}
	if err := mw.Close(); err != nil {
		c.t.Fatal(err)
	}
	var h http.Header
	if withHeaderToken {
		h = http.Header{"X-Csrf-Token": {c.csrf}}
	}
	return c.do(http.MethodPost, path, mw.FormDataContentType(), &buf, h)
}

// call runs a management API action on the node.
func (c *fleetClient) call(action string, req map[string]any, out any) {
	c.t.Helper()
	if err := c.node.API.Call(c.t.Context(), action, req, out); err != nil {
		c.t.Fatalf("%s: %v", action, err)
	}
}

// createProduct creates a project (once) and a product of the given type;
// it returns the product id.
func (c *fleetClient) createProduct(projectID *string, name string, productType int) string {
	c.t.Helper()
	if *projectID == "" {
		var p struct{ Project struct{ ProjectId string } }
		c.call("CreateProject", map[string]any{"ProjectName": "fleet", "ProjectDesc": ""}, &p)
		*projectID = p.Project.ProjectId
	}
	var resp struct{ Product struct{ ProductId string } }
	c.call("CreateStudioProduct", map[string]any{
		"ProductName": name, "CategoryId": 1, "ProductType": productType, "EncryptionType": "2",
		"NetType": "wifi", "DataProtocol": 1, "ProductDesc": "", "ProjectId": *projectID,
	}, &resp)
	return resp.Product.ProductId
}

func (c *fleetClient) createDevice(pid, dn string) {
	c.t.Helper()
	c.call("CreateDevice", map[string]any{"ProductId": pid, "DeviceName": dn}, nil)
}

// mustContain fails unless the page holds every text (HTML-unescaped).
func fleetMustContain(t *testing.T, what string, r fleetResponse, texts ...string) {
	t.Helper()
	body := html.UnescapeString(r.body)
	for _, s := range texts {
		if !strings.Contains(body, s) {
			t.Fatalf("%s: %q not found in (HTTP %d):\n%s", what, s, r.status, r.body)
		}
	}
}

// getJSON fetches as ota.js polls; it returns the HTTP status.
func (c *fleetClient) getJSON(path string, out any) int {
	c.t.Helper()
	resp := c.do(http.MethodGet, path, "", nil, http.Header{"Accept": {"application/json"}})
	if err := json.Unmarshal([]byte(resp.body), out); err != nil {
		c.t.Fatalf("GET %s: %d %q: %v", path, resp.status, resp.body, err)
	}
	return resp.status
}
