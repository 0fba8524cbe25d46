package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestGatewayPages(t *testing.T) {
	c := startFleetNode(t)
	var project string
	gwPID := c.createProduct(&project, "hub", 5)
	subPID := c.createProduct(&project, "sensor", 0)

	fleetMustContain(t, "no gateway device", c.get("/console/gateways"), "hub", "No device of this gateway product yet",
		`href="/console/devices?product=`+gwPID+`"`)
	c.createDevice(gwPID, "gw1")
	c.createDevice(subPID, "s1")
	c.createDevice(subPID, "s2")

	list := c.get("/console/gateways")
	fleetMustContain(t, "gateways", list, `href="/console/gateways/`+gwPID+`/gw1"`, "never online", "none yet")

	gwPath := "/console/gateways/" + gwPID + "/gw1"
	fleetMustContain(t, "fresh gateway", c.get(gwPath), "No sub-device is bound", "No sub-device product is associated",
		`id="bind-product"`, `value="`+subPID+`"`)

	steps := []struct {
		name   string
		path   string
		form   url.Values
		status int
		want   []string // on the page after the step
	}{
		{"bind before associating", "/bind", url.Values{"ProductId": {subPID}, "DeviceNames": {"s1"}}, http.StatusBadRequest,
			[]string{"not bound to the gateway product"}},
		{"associate nothing", "/products", url.Values{}, http.StatusBadRequest, []string{"choose a product"}},
		{"associate", "/products", url.Values{"ProductId": {subPID}}, http.StatusSeeOther,
			[]string{"product " + subPID + " associated", `id="bind-devices"`, `value="` + subPID + `/s1"`, `value="` + subPID + `/s2"`}},
		{"bind nothing", "/bind", url.Values{}, http.StatusBadRequest, []string{"choose at least one device"}},
		{"bind", "/bind", url.Values{"SubDevice": {subPID + "/s1", subPID + "/s2"}}, http.StatusSeeOther,
			[]string{"bound 2 sub-device(s)", `id="sub-devices"`, `href="/console/devices/` + subPID + `/s1"`, "Every device of the associated products is already bound"}},
		{"unbind", "/unbind", url.Values{"ProductId": {subPID}, "DeviceName": {"s2"}}, http.StatusSeeOther,
			[]string{"unbound " + subPID + "/s2", `value="` + subPID + `/s2"`}},
		{"unbind again", "/unbind", url.Values{"ProductId": {subPID}, "DeviceName": {"s2"}}, http.StatusBadRequest,
			[]string{"not bound to this gateway"}},
	}
	for _, st := range steps {
		r := c.postForm(gwPath+st.path, st.form)
		if r.status != st.status {
			t.Fatalf("%s: status %d, want %d: %s", st.name, r.status, st.status, r.body)
		}
		if r.status == http.StatusSeeOther {
			if !strings.HasPrefix(r.location, gwPath+"?flash=") {
				t.Fatalf("%s: redirect to %q", st.name, r.location)
			}
			r = c.get(r.location)
		}
		fleetMustContain(t, st.name, r, st.want...)
	}
	if r := c.get("/console/gateways/" + gwPID + "/nobody"); r.status != http.StatusNotFound {
		t.Fatalf("unknown gateway device: %d", r.status)
	}
}
