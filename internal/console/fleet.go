package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// fleetRoutes mounts the gateway and OTA pages.
func (s *Server) fleetRoutes(mux *http.ServeMux) {
	s.handle(mux, "GET /console/gateways", s.gatewaysPage)
	s.handle(mux, "GET /console/gateways/{pid}/{dn}", s.gatewayPage)
	s.handle(mux, "POST /console/gateways/{pid}/{dn}/bind", s.gatewayBind)
	s.handle(mux, "POST /console/gateways/{pid}/{dn}/unbind", s.gatewayUnbind)
	s.handle(mux, "POST /console/gateways/{pid}/{dn}/products", s.gatewayBindProduct)
	s.handle(mux, "POST /console/gateways/{pid}/{dn}/products/unbind", s.gatewayUnbindProduct)

	s.handle(mux, "GET /console/ota", s.otaPage)
	s.handle(mux, "POST /console/ota/upload-url", s.otaUploadURL)
	s.handle(mux, "POST /console/ota/firmware", s.otaUploadForm)
	s.handle(mux, "POST /console/ota/firmware/register", s.otaRegisterFirmware)
	s.handle(mux, "GET /console/ota/firmware/{pid}/{version}", s.otaFirmwarePage)
	s.handle(mux, "POST /console/ota/firmware/{pid}/{version}/tasks", s.otaCreateTask)
	s.handle(mux, "GET /console/ota/tasks/{pid}/{version}/{id}", s.otaTaskPage)
	s.handle(mux, "GET /console/ota/tasks/{pid}/{version}/{id}/progress", s.otaTaskProgress)
	s.handle(mux, "POST /console/ota/tasks/{pid}/{version}/{id}/status", s.otaTaskStatus)
	s.handle(mux, "POST /console/ota/tasks/{pid}/{version}/{id}/push", s.otaTaskPush)
}

// fleetMaxItems bounds how many products or devices a fleet page lists
// (the API pages by 100; a page never walks more than this).
const fleetMaxItems = 1000

// fleetPageSize is the API's largest page.
const fleetPageSize = 100

// Product types of CreateStudioProduct (registry.ProductTypeNormal and
// registry.ProductTypeGateway).
const (
	fleetProductNormal  = 0
	fleetProductGateway = 5
)

// fleetProduct is what the fleet pages read of a ProductEntry.
type fleetProduct struct {
	ProductId   string
	ProductName string
	ProductType int64
	ProjectId   string
	DeviceCount int64
}

// fleetDevice is what the fleet pages read of a DeviceInfo.
type fleetDevice struct {
	ProductId  string
	DeviceName string
	Status     int64
	Version    string
	DeviceType string
	LoginTime  int64
}

// Online reports whether the device is connected (DeviceInfo.Status 1).
func (d fleetDevice) Online() bool { return d.Status == 1 }

// StatusText is the device's connection state for people.
func (d fleetDevice) StatusText() string { return fleetStatusText(d.Status) }

// fleetStatusText names a DeviceInfo.Status.
func fleetStatusText(status int64) string {
	switch status {
	case 1:
		return "online"
	case 3:
		return "never online"
	default:
		return "offline"
	}
}

// fleetProducts lists every product (up to fleetMaxItems); truncated
// reports whether there were more.
func (s *Server) fleetProducts(ctx context.Context) (list []fleetProduct, truncated bool, err error) {
	for {
		var resp struct {
			Products []fleetProduct
			Total    int64
		}
		req := map[string]any{"Offset": len(list), "Limit": fleetPageSize}
		if err := s.call(ctx, "GetStudioProductList", req, &resp); err != nil {
			return nil, false, err
		}
		list = append(list, resp.Products...)
		if len(resp.Products) == 0 || int64(len(list)) >= resp.Total {
			return list, false, nil
		}
		if len(list) >= fleetMaxItems {
			return list, true, nil
		}
	}
}

// fleetProductDevices lists a product's devices (up to fleetMaxItems).
func (s *Server) fleetProductDevices(ctx context.Context, pid string) (list []fleetDevice, truncated bool, err error) {
	for {
		var resp struct {
			Devices []fleetDevice
			Total   int64
		}
		req := map[string]any{"ProductId": pid, "Offset": len(list), "Limit": fleetPageSize}
		if err := s.call(ctx, "GetDeviceList", req, &resp); err != nil {
			return nil, false, err
		}
		for i := range resp.Devices {
			resp.Devices[i].ProductId = pid
		}
		list = append(list, resp.Devices...)
		if len(resp.Devices) == 0 || int64(len(list)) >= resp.Total {
			return list, false, nil
		}
		if len(list) >= fleetMaxItems {
			return list, true, nil
		}
	}
}

// fleetSplitNames splits a list of device names typed by a person: names
// separated by commas, spaces or new lines; empty entries and duplicates
// are dropped, the order is kept.
func fleetSplitNames(s string) []string {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	})
	seen := make(map[string]bool, len(fields))
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// fleetRedirect answers a successful POST: 303 to path with a flash.
func fleetRedirect(w http.ResponseWriter, r *http.Request, path, flash string) {
	if flash != "" {
		path += "?flash=" + url.QueryEscape(flash)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// fleetPath joins escaped path segments under the console.
func fleetPath(segments ...string) string {
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(Prefix, "/"))
	for _, seg := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(seg))
	}
	return b.String()
}
