package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// Device statuses of DeviceInfo.Status.
const (
	deviceOffline     = 0
	deviceOnline      = 1
	deviceNeverOnline = 3
)

// deviceItem is a device as GetDeviceList and DescribeDevice return it.
type deviceItem struct {
	DeviceName      string
	ProductId       string
	ProductName     string
	Status          int64
	EnableState     int64
	DevicePsk       string
	DeviceCert      string
	Version         string
	DeviceType      string
	CreateTime      int64
	LoginTime       int64
	FirstOnlineTime int64
}

// StatusLabel is online, offline or never activated.
func (d deviceItem) StatusLabel() string {
	switch d.Status {
	case deviceOnline:
		return "online"
	case deviceNeverOnline:
		return "never activated"
	default:
		return "offline"
	}
}

// StatusClass is the CSS class of the status.
func (d deviceItem) StatusClass() string {
	if d.Status == deviceOnline {
		return "status-online"
	}
	return "status-offline"
}

// Enabled reports whether the device may connect.
func (d deviceItem) Enabled() bool { return d.EnableState == 1 }

// Online reports whether the device is connected (Status 1).
func (d deviceItem) Online() bool { return d.Status == 1 }

// Path is the device's URL path under the console.
func (d deviceItem) Path() string {
	return devicePath(d.ProductId, d.DeviceName)
}

func devicePath(pid, dn string) string {
	return Prefix + "devices/" + url.PathEscape(pid) + "/" + url.PathEscape(dn)
}

// deviceFilter is what the devices list shows.
type deviceFilter struct {
	Project string // used when Product is ""
	Product string
	Query   string // device name substring
}

// deviceForm is the create-device form as submitted.
type deviceForm struct {
	ProductId  string
	DeviceName string
	Errors     map[string]string
}

// createdDevice is a certificate device's one-time credentials.
type createdDevice struct {
	ProductId, DeviceName string
	Cert, Key             string
	CertFile, KeyFile     string
}

// Path is the device's page.
func (c createdDevice) Path() string { return devicePath(c.ProductId, c.DeviceName) }

type devicesData struct {
	Projects  []projectItem
	Products  []productItem
	Filter    deviceFilter
	Product   *productItem // the filtered product, if any
	Devices   []deviceItem
	ListError string
	Pager     pager
	Form      deviceForm
	Created   *createdDevice
}

func (s *Server) devicesPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := deviceFilter{Project: q.Get("project"), Product: q.Get("product"), Query: strings.TrimSpace(q.Get("q"))}
	s.renderDevices(w, r, http.StatusOK, f, deviceForm{ProductId: f.Product}, nil, "")
}

func (s *Server) renderDevices(w http.ResponseWriter, r *http.Request, status int, f deviceFilter, form deviceForm, created *createdDevice, pageErr string) {
	ctx := r.Context()
	d := devicesData{Filter: f, Form: form, Created: created}
	var err error
	if d.Projects, err = s.allProjects(ctx); err != nil {
		pageErr = joinErrors(pageErr, userMessage(err))
	}
	if d.Products, err = s.allProducts(ctx); err != nil {
		pageErr = joinErrors(pageErr, userMessage(err))
	}
	for i := range d.Products {
		if d.Products[i].ProductId == f.Product {
			d.Product = &d.Products[i]
			d.Filter.Project = d.Product.ProjectId
		}
	}
	if d.Filter.Product == "" && d.Filter.Project == "" && len(d.Projects) > 0 {
		d.Filter.Project = d.Projects[0].ProjectId
	}
	if d.Form.ProductId == "" && len(d.Products) > 0 {
		d.Form.ProductId = d.Products[0].ProductId
	}
	offset := queryOffset(r)
	if r.Method != http.MethodGet {
		offset = 0
	}
	if d.Filter.Product != "" || d.Filter.Project != "" {
		var total int64
		d.Devices, total, err = s.listDevices(ctx, d.Filter, offset, listAll)
		if err != nil {
			d.ListError = userMessage(err)
			if status < 400 {
				status = statusOf(err)
			}
		}
		base := &url.URL{Path: Prefix + "devices"}
		v := url.Values{}
		if d.Filter.Product != "" {
			v.Set("product", d.Filter.Product)
		} else {
			v.Set("project", d.Filter.Project)
		}
		if d.Filter.Query != "" {
			v.Set("q", d.Filter.Query)
		}
		base.RawQuery = v.Encode()
		d.Pager = newPager(base, offset, listAll, total)
	}
	s.render(w, r, status, "devices", page{Title: "Devices", Nav: "devices", Error: pageErr, Data: d})
}

// listDevices returns a page of the filter's devices.
func (s *Server) listDevices(ctx context.Context, f deviceFilter, offset, limit int64) ([]deviceItem, int64, error) {
	req := map[string]any{"Offset": offset, "Limit": limit}
	if f.Product != "" {
		req["ProductId"] = f.Product
	} else {
		req["ProductId"], req["ProjectId"] = "-1", f.Project
	}
	if f.Query != "" {
		req["DeviceName"] = f.Query
	}
	var resp struct {
		Devices []deviceItem
		Total   int64
	}
	err := s.call(ctx, "GetDeviceList", req, &resp)
	return resp.Devices, resp.Total, err
}

func (s *Server) describeDevice(ctx context.Context, pid, dn string) (deviceItem, error) {
	var resp struct{ Device deviceItem }
	err := s.call(ctx, "DescribeDevice", map[string]string{"ProductId": pid, "DeviceName": dn}, &resp)
	return resp.Device, err
}

func (s *Server) createDevice(w http.ResponseWriter, r *http.Request) {
	form := deviceForm{ProductId: r.PostFormValue("ProductId"), DeviceName: strings.TrimSpace(r.PostFormValue("DeviceName"))}
	filter := deviceFilter{Product: form.ProductId}
	var resp struct {
		Data struct {
			DeviceName, DevicePsk, DeviceCert, DevicePrivateKey string
		}
	}
	err := s.call(r.Context(), "CreateDevice", map[string]string{"ProductId": form.ProductId, "DeviceName": form.DeviceName}, &resp)
	if err != nil {
		var pageErr string
		form.Errors, pageErr = fieldErrors(err, "ProductId", "DeviceName")
		if form.Errors == nil && statusOf(err) == http.StatusBadRequest {
			form.Errors, pageErr = map[string]string{"DeviceName": pageErr}, ""
		}
		s.renderDevices(w, r, statusOf(err), filter, form, nil, pageErr)
		return
	}
	dn := resp.Data.DeviceName
	if resp.Data.DevicePrivateKey == "" {
		redirectFlash(w, r, devicePath(form.ProductId, dn), "Device "+dn+" created.")
		return
	}
	created := &createdDevice{
		ProductId: form.ProductId, DeviceName: dn, Cert: resp.Data.DeviceCert, Key: resp.Data.DevicePrivateKey,
		CertFile: certFileName(dn), KeyFile: keyFileName(dn),
	}
	w.Header().Set("Cache-Control", "no-store")
	s.renderDevices(w, r, http.StatusCreated, filter, deviceForm{ProductId: form.ProductId}, created, "")
}

func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request) {
	pid, dn := r.PathValue("pid"), r.PathValue("dn")
	err := s.call(r.Context(), "DeleteDevice", map[string]string{"ProductId": pid, "DeviceName": dn}, nil)
	if err != nil {
		s.renderDevices(w, r, statusOf(err), deviceFilter{Product: pid}, deviceForm{ProductId: pid}, nil,
			"Could not delete device "+dn+": "+userMessage(err))
		return
	}
	redirectFlash(w, r, Prefix+"devices?product="+url.QueryEscape(pid), "Device "+dn+" deleted.")
}

func (s *Server) enableDevice(w http.ResponseWriter, r *http.Request) {
	pid, dn := r.PathValue("pid"), r.PathValue("dn")
	status := int64(0)
	verb := "disabled"
	if r.PostFormValue("Status") == "1" {
		status, verb = 1, "enabled"
	}
	err := s.call(r.Context(), "UpdateDevicesEnableState", map[string]any{
		"DevicesItems": []map[string]string{{"ProductId": pid, "DeviceName": dn}}, "Status": status,
	}, nil)
	if err != nil {
		s.renderDevices(w, r, statusOf(err), deviceFilter{Product: pid}, deviceForm{ProductId: pid}, nil,
			"Could not change device "+dn+": "+userMessage(err))
		return
	}
	back := Prefix + "devices?product=" + url.QueryEscape(pid)
	if next := r.PostFormValue("next"); next != "" {
		back = safeNext(next)
	}
	redirectFlash(w, r, back, "Device "+dn+" "+verb+".")
}
