package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/thingo-iot/thingo/sdk"
)

// coreSmartLight is a valid model; coreBadRange has an out-of-order range on
// brightness.
const (
	coreSmartLight = `{"version":"1.0","profile":{"ProductId":"X","CategoryId":"1"},
"properties":[{"id":"power_switch","name":"p","mode":"rw","define":{"type":"bool","mapping":{"0":"off","1":"on"}}},
{"id":"brightness","name":"b","mode":"rw","define":{"type":"int","min":"0","max":"100","step":"1","start":"0"}}],
"events":[],"actions":[]}`
	coreBadRange = `{"version":"1.0","profile":{"ProductId":"X","CategoryId":"1"},
"properties":[{"id":"brightness","name":"b","mode":"rw","define":{"type":"int","min":"100","max":"0","step":"1","start":"0"}}],
"events":[],"actions":[]}`
)

var coreProductIDRe = regexp.MustCompile(`id="product-id">([A-Z0-9]{10})<`)

// createProduct creates a project (once) and a product and returns its id.
func (e *coreEnv) createProduct(name, encryption string) string {
	e.t.Helper()
	if !strings.Contains(e.get("/console/projects").body, ">home<") {
		e.wantRedirect("create project", e.post("/console/projects", url.Values{"ProjectName": {"home"}, "ProjectDesc": {"test"}}), "/console/projects?flash=")
	}
	page := e.get("/console/products")
	m := regexp.MustCompile(`<option value="([^"]+)" selected>home</option>`).FindStringSubmatch(page.body)
	if m == nil {
		e.t.Fatalf("products page preselects no project:\n%s", page.body)
	}
	loc := e.wantRedirect("create product", e.post("/console/products", url.Values{
		"ProductName": {name}, "ProjectId": {m[1]}, "EncryptionType": {encryption}, "ProductType": {"0"}, "NetType": {"wifi"},
	}), "/console/products/")
	p := e.get(loc)
	id := coreProductIDRe.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || id == nil {
		e.t.Fatalf("product page = %d without #product-id:\n%s", p.status, p.body)
	}
	return id[1]
}

func TestCoreFlow(t *testing.T) {
	e := newCoreEnv(t)
	e.login()

	// Empty states say what to do next.
	coreWantBody(t, "empty products", e.get("/console/products"), `href="/console/projects"`, `id="products"`)
	coreWantBody(t, "empty devices", e.get("/console/devices"), "Create a project")

	pid := e.createProduct("lamp", "2")
	coreWantBody(t, "projects", e.get("/console/projects"), `id="projects"`, ">home<")
	coreWantBody(t, "products", e.get("/console/products"), `id="products"`, ">lamp<", pid, "key", "normal")
	coreWantBody(t, "product", e.get("/console/products/"+pid), `id="edit-model" href="/console/products/`+pid+`/model"`,
		`id="product-devices" href="/console/devices?product=`+pid+`"`, `name="RegisterType"`, `id="create-topic"`)

	// Thing model: syntax errors, definition errors naming the id, success.
	model := "/console/products/" + pid + "/model"
	coreWantBody(t, "model editor", e.get(model), `id="model-json"`, `data-template="smart-light"`,
		`id="template-smart-light"`, `data-template="temperature-sensor"`, `id="save-model"`)
	tests := []struct {
		name, schema string
		status       int
		want         []string
	}{
		{"syntax", "{\n  \"version\": \"1.0\",,\n}", http.StatusBadRequest, []string{`id="model-errors"`, "line 2, column"}},
		{"not an object", `[1]`, http.StatusBadRequest, []string{"must be a JSON object"}},
		{"empty", "  ", http.StatusBadRequest, []string{"The model is empty"}},
		{"bad range", coreBadRange, http.StatusBadRequest, []string{`<strong class="model-error-id">brightness</strong>`, "ModelDefinePropRangeError"}},
	}
	for _, tt := range tests {
		t.Run("model "+tt.name, func(t *testing.T) {
			a := e.post(model, url.Values{"ModelSchema": {tt.schema}})
			if a.status != tt.status {
				t.Fatalf("save = %d, want %d:\n%s", a.status, tt.status, a.body)
			}
			coreWantBody(t, tt.name, a, tt.want...)
			if strings.TrimSpace(tt.schema) != "" {
				coreWantBody(t, tt.name+" keeps the text", a, strings.Split(coreHTMLEscape(tt.schema), "\n")[0])
			}
		})
	}
	e.wantRedirect("save model", e.post(model, url.Values{"ModelSchema": {coreSmartLight}}), model+"?flash=")
	coreWantBody(t, "saved model", e.get(model), "power_switch", "Last saved")
	coreWantBody(t, "product with model", e.get("/console/products/"+pid), "2 properties, 0 events, 0 actions")

	// Topics and dynamic registration.
	e.wantRedirect("create topic", e.post("/console/products/"+pid+"/topics", url.Values{"TopicName": {"data"}, "Privilege": {"3"}}), "/console/products/"+pid+"?flash=")
	coreWantBody(t, "topic listed", e.get("/console/products/"+pid), "/data</code>", "publish and subscribe")
	if a := e.post("/console/products/"+pid+"/topics", url.Values{"TopicName": {"data"}, "Privilege": {"3"}}); a.status < 400 || !strings.Contains(a.body, "field-error") {
		t.Errorf("duplicate topic = %d, want 4xx with a field error", a.status)
	}
	e.wantRedirect("delete topic", e.post("/console/products/"+pid+"/topics/delete", url.Values{"TopicName": {"data"}}), "/console/products/"+pid+"?flash=")
	e.wantRedirect("dynreg", e.post("/console/products/"+pid+"/dynreg", url.Values{"RegisterType": {"2"}, "RegisterLimit": {"5"}}), "/console/products/"+pid+"?flash=")
	coreWantBody(t, "dynreg saved", e.get("/console/products/"+pid), `<option value="2" selected>`, `value="5"`, `id="product-secret"`)

	// Devices.
	coreWantBody(t, "no devices", e.get("/console/devices?product="+pid), `id="create-device"`, "No devices here yet")
	if a := e.post("/console/devices", url.Values{"ProductId": {pid}, "DeviceName": {"bad name!"}}); a.status != http.StatusBadRequest ||
		!strings.Contains(a.body, `class="field-error" id="DeviceName-error"`) {
		t.Errorf("bad device name = %d, want 400 with a field error:\n%s", a.status, a.body)
	}
	e.wantRedirect("create device", e.post("/console/devices", url.Values{"ProductId": {pid}, "DeviceName": {"lamp01"}}),
		"/console/devices/"+pid+"/lamp01?flash=")
	list := e.get("/console/devices?product=" + pid)
	coreWantBody(t, "devices", list, `id="devices"`, ">lamp01<", "never activated", "enabled",
		`/console/devices/`+pid+`/lamp01/device_info.json`, `/console/devices/`+pid+`/lamp01/credentials.txt`)
	coreWantBody(t, "search hit", e.get("/console/devices?product="+pid+"&q=amp"), ">lamp01<")
	coreWantBody(t, "search miss", e.get("/console/devices?product="+pid+"&q=zzz"), "No device name contains")

	info := e.get("/console/devices/" + pid + "/lamp01/device_info.json")
	if info.status != http.StatusOK || !strings.Contains(info.header.Get("Content-Disposition"), `attachment; filename=device_info.json`) {
		t.Fatalf("device_info.json = %d %q", info.status, info.header.Get("Content-Disposition"))
	}
	di, err := sdk.ParseDeviceInfo([]byte(info.body))
	if err != nil {
		t.Fatalf("device_info.json does not parse: %v\n%s", err, info.body)
	}
	if di.AuthMode != sdk.AuthModeKey || di.ProductID != pid || di.DeviceName != "lamp01" || len(di.Key.DeviceSecret) < 16 {
		t.Errorf("device_info.json = %+v", di)
	}
	creds := e.get("/console/devices/" + pid + "/lamp01/credentials.txt")
	coreWantBody(t, "credentials.txt", creds, pid, "lamp01", coreMQTTHost, di.Key.DeviceSecret,
		"thingo sign --product "+pid+" --device lamp01 --secret "+di.Key.DeviceSecret)

	dev := "/console/devices/" + pid + "/lamp01"
	e.wantRedirect("disable", e.post(dev+"/enable", url.Values{"Status": {"0"}}), "/console/devices?product="+pid)
	coreWantBody(t, "disabled", e.get("/console/devices?product="+pid), "disabled")
	e.wantRedirect("enable", e.post(dev+"/enable", url.Values{"Status": {"1"}, "next": {"/console/products"}}), "/console/products?flash=")
	if a := e.post("/console/products/"+pid+"/delete", nil); a.status < 400 {
		t.Errorf("deleting a product with devices = %d, want an error", a.status)
	}
	e.wantRedirect("delete device", e.post(dev+"/delete", nil), "/console/devices?product="+pid)
	if a := e.get(dev + "/device_info.json"); a.status != http.StatusNotFound {
		t.Errorf("device_info.json of a deleted device = %d, want 404", a.status)
	}
	e.wantRedirect("delete product", e.post("/console/products/"+pid+"/delete", nil), "/console/products?flash=")

	// Logout ends the session.
	e.wantRedirect("logout", e.post("/console/logout", nil), "/console/login")
	if a := e.get("/console/projects"); a.status != http.StatusFound {
		t.Errorf("after logout GET = %d, want 302 to the login", a.status)
	}
}

func TestCertDevice(t *testing.T) {
	e := newCoreEnv(t)
	e.login()
	pid := e.createProduct("camera", "1")
	a := e.post("/console/devices", url.Values{"ProductId": {pid}, "DeviceName": {"cam1"}})
	if a.status != http.StatusCreated {
		t.Fatalf("create cert device = %d:\n%s", a.status, a.body)
	}
	coreWantBody(t, "created", a, "BEGIN CERTIFICATE", "PRIVATE KEY", `data-filename="cam1_private.key"`, `href="/console/devices/`+pid+`/cam1"`)
	info := e.get("/console/devices/" + pid + "/cam1/device_info.json")
	di, err := sdk.ParseDeviceInfo([]byte(info.body))
	if err != nil {
		t.Fatalf("device_info.json: %v\n%s", err, info.body)
	}
	if di.AuthMode != sdk.AuthModeCert || di.Cert.CertFile != "cam1_cert.crt" || di.Cert.KeyFile != "cam1_private.key" {
		t.Errorf("device_info.json = %+v", di)
	}
	cert := e.get("/console/devices/" + pid + "/cam1/device_cert.crt")
	if cert.status != http.StatusOK || !strings.HasPrefix(cert.body, "-----BEGIN CERTIFICATE-----") {
		t.Errorf("device_cert.crt = %d %q", cert.status, cert.body)
	}
	coreWantBody(t, "cert credentials.txt", e.get("/console/devices/"+pid+"/cam1/credentials.txt"), "certificate", "cam1_private.key")
}

func TestProjectDelete(t *testing.T) {
	e := newCoreEnv(t)
	e.login()
	e.wantRedirect("create", e.post("/console/projects", url.Values{"ProjectName": {"spare"}}), "/console/projects?flash=")
	m := regexp.MustCompile(`action="/console/projects/([^/"]+)/delete"`).FindStringSubmatch(e.get("/console/projects").body)
	if m == nil {
		t.Fatal("an empty project has no delete button")
	}
	e.wantRedirect("delete", e.post("/console/projects/"+m[1]+"/delete", nil), "/console/projects?flash=")
	coreWantBody(t, "after delete", e.get("/console/projects"), "No projects yet")
	if a := e.post("/console/projects", url.Values{"ProjectName": {""}}); a.status != http.StatusBadRequest || !strings.Contains(a.body, "field-error") {
		t.Errorf("empty project name = %d, want 400 with a field error", a.status)
	}
}

// coreHTMLEscape escapes like html/template does for text.
func coreHTMLEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func TestDuplicateNames(t *testing.T) {
	e := newCoreEnv(t)
	e.login()
	pid := e.createProduct("lamp", "2")
	page := e.get("/console/products")
	m := regexp.MustCompile(`<option value="([^"]+)" selected>home</option>`).FindStringSubmatch(page.body)
	a := e.post("/console/products", url.Values{"ProductName": {"lamp"}, "ProjectId": {m[1]}, "EncryptionType": {"2"}, "ProductType": {"0"}})
	if a.status < 400 || a.status >= 500 || !strings.Contains(a.body, `id="ProductName-error"`) || !strings.Contains(a.body, `value="lamp"`) {
		t.Errorf("duplicate product = %d, want 4xx with the name's error and the input kept:\n%s", a.status, a.body)
	}
	e.wantRedirect("device", e.post("/console/devices", url.Values{"ProductId": {pid}, "DeviceName": {"d1"}}), "/console/devices/")
	a = e.post("/console/devices", url.Values{"ProductId": {pid}, "DeviceName": {"d1"}})
	if a.status < 400 || a.status >= 500 || !strings.Contains(a.body, `id="DeviceName-error"`) {
		t.Errorf("duplicate device = %d, want 4xx with the name's error:\n%s", a.status, a.body)
	}
}
