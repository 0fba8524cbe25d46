package console

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// gwProductRow is one gateway product on the gateways page.
type gwProductRow struct {
	Product     fleetProduct
	Devices     []fleetDevice
	Truncated   bool
	SubProducts []fleetProduct // products associated with the gateway product
}

// gwListData is the gateways page.
type gwListData struct {
	Gateways  []gwProductRow
	Truncated bool
}

// gatewaysPage lists the gateway products and their devices.
func (s *Server) gatewaysPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := page{Title: "Gateways", Nav: "gateways"}
	products, truncated, err := s.fleetProducts(ctx)
	if err != nil {
		p.Error = userMessage(err)
		s.render(w, r, http.StatusBadGateway, "gateways", p)
		return
	}
	data := gwListData{Truncated: truncated}
	for _, prod := range products {
		if prod.ProductType != fleetProductGateway {
			continue
		}
		row := gwProductRow{Product: prod}
		row.Devices, row.Truncated, err = s.fleetProductDevices(ctx, prod.ProductId)
		if err == nil {
			row.SubProducts, err = s.gwSubProducts(ctx, "DescribeBindedProducts", prod.ProductId)
		}
		if err != nil {
			p.Error = userMessage(err)
			break
		}
		data.Gateways = append(data.Gateways, row)
	}
	p.Data = data
	s.render(w, r, http.StatusOK, "gateways", p)
}

// gwSubProducts runs DescribeBindedProducts (associated products) or
// DescribeGatewaySubProducts (normal products of the gateway's project).
func (s *Server) gwSubProducts(ctx context.Context, action, gwPID string) ([]fleetProduct, error) {
	var out []fleetProduct
	for len(out) < fleetMaxItems {
		var resp struct {
			Products []fleetProduct
			Total    int64
		}
		req := map[string]any{"GatewayProductId": gwPID, "Offset": len(out), "Limit": fleetPageSize}
		if err := s.call(ctx, action, req, &resp); err != nil {
			return nil, err
		}
		out = append(out, resp.Products...)
		if len(resp.Products) == 0 || int64(len(out)) >= resp.Total {
			break
		}
	}
	return out, nil
}

// gwSubDevice is a device bound to the gateway, with its status.
type gwSubDevice struct {
	fleetDevice
	ProductName string
}

// gwCandidateGroup is the unbound devices of one associated product.
type gwCandidateGroup struct {
	Product fleetProduct
	Devices []fleetDevice
}

// gwPageData is the gateway device page.
type gwPageData struct {
	Gateway       fleetDevice
	Product       fleetProduct
	SubProducts   []fleetProduct     // associated with the gateway product
	Associable    []fleetProduct     // normal products of the project not yet associated
	SubDevices    []gwSubDevice      // bound to this gateway
	Candidates    []gwCandidateGroup // devices that may be bound
	HasCandidates bool
	FieldErrors   map[string]string
}

// gatewayPage shows one gateway device: its sub-devices and the forms to
// bind them.
func (s *Server) gatewayPage(w http.ResponseWriter, r *http.Request) {
	s.renderGateway(w, r, http.StatusOK, "", "")
}

// renderGateway renders the gateway page; a non-empty field gets msg next
// to it (field "" shows msg as the page error).
func (s *Server) renderGateway(w http.ResponseWriter, r *http.Request, status int, field, msg string) {
	ctx := r.Context()
	pid, dn := r.PathValue("pid"), r.PathValue("dn")
	p := page{Title: "Gateway " + dn, Nav: "gateways"}
	data, err := s.gwLoad(ctx, pid, dn)
	if err != nil {
		p.Error = userMessage(err)
		st := http.StatusBadGateway
		var ae *ActionError
		if errors.As(err, &ae) && (strings.HasPrefix(ae.Code, "ResourceNotFound") || strings.HasPrefix(ae.Code, "InvalidParameter")) {
			st = http.StatusNotFound
		}
		s.render(w, r, st, "gateway", p)
		return
	}
	data.FieldErrors = map[string]string{}
	if msg != "" {
		if field == "" {
			p.Error = msg
		} else {
			data.FieldErrors[field] = msg
		}
	}
	p.Data = data
	s.render(w, r, status, "gateway", p)
}

// gwLoad gathers what the gateway page shows.
func (s *Server) gwLoad(ctx context.Context, pid, dn string) (*gwPageData, error) {
	var prod struct{ Product fleetProduct }
	if err := s.call(ctx, "DescribeStudioProduct", map[string]string{"ProductId": pid}, &prod); err != nil {
		return nil, err
	}
	if prod.Product.ProductType != fleetProductGateway {
		return nil, &ActionError{Action: "DescribeStudioProduct", Code: "InvalidParameter.ProductIsNotGateway",
			Message: "product " + pid + " is not a gateway product"}
	}
	var dev struct{ Device fleetDevice }
	if err := s.call(ctx, "DescribeDevice", map[string]string{"ProductId": pid, "DeviceName": dn}, &dev); err != nil {
		return nil, err
	}
	dev.Device.ProductId = pid
	data := &gwPageData{Gateway: dev.Device, Product: prod.Product}
	var err error
	if data.SubProducts, err = s.gwSubProducts(ctx, "DescribeBindedProducts", pid); err != nil {
		return nil, err
	}
	all, err := s.gwSubProducts(ctx, "DescribeGatewaySubProducts", pid)
	if err != nil {
		return nil, err
	}
	associated := make(map[string]fleetProduct, len(data.SubProducts))
	for _, sp := range data.SubProducts {
		associated[sp.ProductId] = sp
	}
	for _, sp := range all {
		if _, ok := associated[sp.ProductId]; !ok {
			data.Associable = append(data.Associable, sp)
		}
	}
	bound, err := s.gwBound(ctx, pid, dn)
	if err != nil {
		return nil, err
	}
	for _, sp := range data.SubProducts {
		devices, _, err := s.fleetProductDevices(ctx, sp.ProductId)
		if err != nil {
			return nil, err
		}
		group := gwCandidateGroup{Product: sp}
		for _, d := range devices {
			if bound[d.ProductId+"/"+d.DeviceName] {
				data.SubDevices = append(data.SubDevices, gwSubDevice{fleetDevice: d, ProductName: sp.ProductName})
				delete(bound, d.ProductId+"/"+d.DeviceName)
				continue
			}
			if d.DeviceType != "sub-device" { // not bound to another gateway
				group.Devices = append(group.Devices, d)
			}
		}
		if len(group.Devices) > 0 {
			data.Candidates = append(data.Candidates, group)
			data.HasCandidates = true
		}
	}
	// Bound devices of products no longer associated (or past the listing
	// cap): shown with an unknown status rather than hidden.
	for id := range bound {
		p, n, _ := strings.Cut(id, "/")
		data.SubDevices = append(data.SubDevices, gwSubDevice{fleetDevice: fleetDevice{ProductId: p, DeviceName: n, Status: -1}})
	}
	sort.Slice(data.SubDevices, func(i, j int) bool {
		a, b := data.SubDevices[i], data.SubDevices[j]
		if a.ProductId != b.ProductId {
			return a.ProductId < b.ProductId
		}
		return a.DeviceName < b.DeviceName
	})
	return data, nil
}

// gwBound returns the sub-devices bound to the gateway device as
// "pid/name" keys.
func (s *Server) gwBound(ctx context.Context, pid, dn string) (map[string]bool, error) {
	out := map[string]bool{}
	for len(out) < fleetMaxItems {
		var resp struct {
			Total      int64
			DeviceList []struct{ ProductId, DeviceName string }
		}
		req := map[string]any{"GatewayProductId": pid, "GatewayDeviceName": dn, "Offset": len(out), "Limit": fleetPageSize}
		if err := s.call(ctx, "DescribeGatewaySubDeviceList", req, &resp); err != nil {
			return nil, err
		}
		for _, d := range resp.DeviceList {
			out[d.ProductId+"/"+d.DeviceName] = true
		}
		if len(resp.DeviceList) == 0 || int64(len(out)) >= resp.Total {
			break
		}
	}
	return out, nil
}

// gatewayBind binds the chosen sub-devices ("pid/name" values of
// SubDevice, or ProductId with DeviceNames typed in) to the gateway.
func (s *Server) gatewayBind(w http.ResponseWriter, r *http.Request) {
	pid, dn := r.PathValue("pid"), r.PathValue("dn")
	if err := r.ParseForm(); err != nil {
		s.renderGateway(w, r, http.StatusBadRequest, "SubDevice", "could not read the form: "+err.Error())
		return
	}
	byProduct := map[string][]string{}
	var order []string
	add := func(p, n string) {
		if p == "" || n == "" {
			return
		}
		if _, ok := byProduct[p]; !ok {
			order = append(order, p)
		}
		byProduct[p] = append(byProduct[p], n)
	}
	for _, v := range r.PostForm["SubDevice"] {
		p, n, _ := strings.Cut(v, "/")
		add(p, n)
	}
	for _, n := range fleetSplitNames(r.PostFormValue("DeviceNames")) {
		add(r.PostFormValue("ProductId"), n)
	}
	if len(order) == 0 {
		s.renderGateway(w, r, http.StatusBadRequest, "SubDevice", "choose at least one device to bind")
		return
	}
	count := 0
	for _, p := range order {
		req := map[string]any{"GatewayProductId": pid, "GatewayDeviceName": dn, "ProductId": p, "DeviceNames": byProduct[p]}
		if err := s.call(r.Context(), "BindDevices", req, nil); err != nil {
			msg := userMessage(err)
			if count > 0 {
				msg = "bound " + strconv.Itoa(count) + " device(s), then: " + msg
			}
			s.renderGateway(w, r, http.StatusBadRequest, "SubDevice", msg)
			return
		}
		count += len(byProduct[p])
	}
	fleetRedirect(w, r, fleetPath("gateways", pid, dn), "bound "+strconv.Itoa(count)+" sub-device(s)")
}

// gatewayUnbind unbinds one sub-device.
func (s *Server) gatewayUnbind(w http.ResponseWriter, r *http.Request) {
	pid, dn := r.PathValue("pid"), r.PathValue("dn")
	subPID, subDN := r.PostFormValue("ProductId"), r.PostFormValue("DeviceName")
	req := map[string]any{"GatewayProductId": pid, "GatewayDeviceName": dn, "ProductId": subPID, "DeviceNames": []string{subDN}}
	if err := s.call(r.Context(), "UnbindDevices", req, nil); err != nil {
		s.renderGateway(w, r, http.StatusBadRequest, "", userMessage(err))
		return
	}
	fleetRedirect(w, r, fleetPath("gateways", pid, dn), "unbound "+subPID+"/"+subDN)
}

// gatewayBindProduct associates a product with the gateway product, so
// its devices may become sub-devices.
func (s *Server) gatewayBindProduct(w http.ResponseWriter, r *http.Request) {
	pid, dn := r.PathValue("pid"), r.PathValue("dn")
	sub := r.PostFormValue("ProductId")
	if sub == "" {
		s.renderGateway(w, r, http.StatusBadRequest, "ProductId", "choose a product")
		return
	}
	req := map[string]any{"GatewayProductId": pid, "ProductIds": []string{sub}}
	if err := s.call(r.Context(), "BindProducts", req, nil); err != nil {
		s.renderGateway(w, r, http.StatusBadRequest, "ProductId", userMessage(err))
		return
	}
	fleetRedirect(w, r, fleetPath("gateways", pid, dn), "product "+sub+" associated")
}

// gatewayUnbindProduct removes a product association.
func (s *Server) gatewayUnbindProduct(w http.ResponseWriter, r *http.Request) {
	pid, dn := r.PathValue("pid"), r.PathValue("dn")
	sub := r.PostFormValue("ProductId")
	req := map[string]any{"GatewayProductId": pid, "ProductIds": []string{sub}}
	if err := s.call(r.Context(), "UnbindProducts", req, nil); err != nil {
		s.renderGateway(w, r, http.StatusBadRequest, "", userMessage(err))
		return
	}
	fleetRedirect(w, r, fleetPath("gateways", pid, dn), "product "+sub+" no longer associated")
}
