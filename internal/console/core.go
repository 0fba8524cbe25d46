package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// coreRoutes mounts projects, products, thing models and devices.
func (s *Server) coreRoutes(mux *http.ServeMux) {
	s.handle(mux, "GET /console/projects", s.projectsPage)
	s.handle(mux, "POST /console/projects", s.createProject)
	s.handle(mux, "POST /console/projects/{id}/delete", s.deleteProject)

	s.handle(mux, "GET /console/products", s.productsPage)
	s.handle(mux, "POST /console/products", s.createProduct)
	s.handle(mux, "GET /console/products/{pid}", s.productPage)
	s.handle(mux, "POST /console/products/{pid}/delete", s.deleteProduct)
	s.handle(mux, "POST /console/products/{pid}/dynreg", s.modifyDynreg)
	s.handle(mux, "POST /console/products/{pid}/topics", s.createTopic)
	s.handle(mux, "POST /console/products/{pid}/topics/delete", s.deleteTopic)
	s.handle(mux, "GET /console/products/{pid}/model", s.modelPage)
	s.handle(mux, "POST /console/products/{pid}/model", s.saveModel)

	s.handle(mux, "GET /console/devices", s.devicesPage)
	s.handle(mux, "POST /console/devices", s.createDevice)
	s.handle(mux, "POST /console/devices/{pid}/{dn}/delete", s.deleteDevice)
	s.handle(mux, "POST /console/devices/{pid}/{dn}/enable", s.enableDevice)
	s.handle(mux, "GET /console/devices/{pid}/{dn}/device_info.json", s.deviceInfoJSON)
	s.handle(mux, "GET /console/devices/{pid}/{dn}/credentials.txt", s.credentialsTxt)
	s.handle(mux, "GET /console/devices/{pid}/{dn}/device_cert.crt", s.deviceCert)
}

// listAll is the page size used when a page needs every item of a list
// (the API's maximum).
const listAll = 100

// redirectFlash answers a successful POST: 303 to target with a flash message.
func redirectFlash(w http.ResponseWriter, r *http.Request, target, flash string) {
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	http.Redirect(w, r, target+sep+"flash="+url.QueryEscape(flash), http.StatusSeeOther)
}

// statusOf is the HTTP status shown with a failed action: 404 for missing
// resources, 500 for internal errors, 400 otherwise.
func statusOf(err error) int {
	var ae *ActionError
	if !errors.As(err, &ae) {
		return http.StatusInternalServerError
	}
	switch {
	case strings.HasPrefix(ae.Code, "ResourceNotFound"):
		return http.StatusNotFound
	case strings.HasPrefix(ae.Code, "InternalError"):
		return http.StatusInternalServerError
	default:
		return http.StatusBadRequest
	}
}

// fieldErrors maps a failed action to a message next to the form field it
// names; errors about no known field become the page error.
func fieldErrors(err error, fields ...string) (map[string]string, string) {
	f := fieldOf(err)
	for _, want := range fields {
		if f == want {
			return map[string]string{f: userMessage(err)}, ""
		}
	}
	return nil, userMessage(err)
}

// queryOffset reads a non-negative ?offset=.
func queryOffset(r *http.Request) int64 {
	n, err := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// pager is the paging state of a list page.
type pager struct {
	Offset, Limit, Total int64
	PrevURL, NextURL     string // "" when there is no such page
}

// newPager builds the previous/next links of a list from base (a URL whose
// query is kept) with its offset replaced.
func newPager(base *url.URL, offset, limit, total int64) pager {
	p := pager{Offset: offset, Limit: limit, Total: total}
	link := func(off int64) string {
		u := *base
		q := u.Query()
		q.Del("flash")
		if off > 0 {
			q.Set("offset", strconv.FormatInt(off, 10))
		} else {
			q.Del("offset")
		}
		u.RawQuery = q.Encode()
		return u.RequestURI()
	}
	if offset > 0 {
		p.PrevURL = link(max(0, offset-limit))
	}
	if offset+limit < total {
		p.NextURL = link(offset + limit)
	}
	return p
}

// First is the 1-based number of the page's first item.
func (p pager) First() int64 {
	if p.Total == 0 {
		return 0
	}
	return p.Offset + 1
}

// Last is the 1-based number of the page's last item.
func (p pager) Last() int64 { return min(p.Offset+p.Limit, p.Total) }
