package api

import (
	"context"
	"errors"

	"github.com/thingo-iot/thingo/internal/gateway"
	"github.com/thingo-iot/thingo/internal/registry"
)

// Gateways serves the gateway and sub-device actions (PROTOCOL.md §8).
// *gateway.Service implements it.
type Gateways interface {
	BindProducts(ctx context.Context, gwPID string, productIDs []string) error
	UnbindProducts(ctx context.Context, gwPID string, productIDs []string) error
	SubProducts(ctx context.Context, gwPID string) ([]gateway.SubProduct, error)
	BindDevices(ctx context.Context, gwPID, gwDN, pid string, names []string) error
	UnbindDevices(ctx context.Context, gwPID, gwDN, pid string, names []string) error
	SubDevices(ctx context.Context, gwPID, gwDN, pid string, offset, limit int) ([]gateway.Binding, int64, error)
	BindingOf(ctx context.Context, pid, dn string) (gateway.Binding, error)
	SearchDevices(ctx context.Context, gwPID, gwDN string, status int) error
	SubDeviceDeleted(ctx context.Context, pid, dn string, b *gateway.Binding)
}

// Codes of the gateway actions.
const (
	codeDeviceIsNotGateway  = "InvalidParameterValue.DeviceIsNotGateway"
	codeProductIsNotGateway = "InvalidParameter.ProductIsNotGateway"
	codeDeviceNotBind       = "ResourceNotFound.DeviceNotBind"
	codeDeviceHasBinded     = "FailedOperation.DeviceAlreadyBindGateway"
	codeProductNotBind      = "UnauthorizedOperation.ProductNotBindGateway"
	codeNotNormalDevice     = "InvalidParameterValue.NotNormalDevice"
	codeGatewayLimit        = "LimitExceeded.GatewaySubDeviceLimit"
)

// gatewayErr maps the gateway service's errors to API errors.
func gatewayErr(err error, product bool) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gateway.ErrNotGateway) && product:
		return newError(codeProductIsNotGateway, "the product is not a gateway product")
	case errors.Is(err, gateway.ErrNotGateway):
		return newError(codeDeviceIsNotGateway, "the device is not a gateway")
	case errors.Is(err, gateway.ErrNotBound):
		return newError(codeDeviceNotBind, "the device is not bound to this gateway")
	case errors.Is(err, gateway.ErrBoundElsewhere):
		return newError(codeDeviceHasBinded, "the device is already bound to another gateway")
	case errors.Is(err, gateway.ErrProductNotAssociated):
		return newError(codeProductNotBind, "the product is not bound to the gateway product; use BindProducts")
	case errors.Is(err, gateway.ErrNotNormal):
		return newError(codeNotNormalDevice, "a gateway cannot be a sub-device")
	case errors.Is(err, gateway.ErrBadStatus):
		return newError(codeInvalidParameterValue, "parameter Status: must be 0 (stop) or 1 (start)")
	case errors.Is(err, gateway.ErrTooManySubDevices):
		return newError(codeGatewayLimit, "the gateway has reached its sub-device limit")
	}
	return err
}

func (h *Handler) gatewaysOrErr() (Gateways, error) {
	if h.gateways == nil {
		return nil, newError(codeUnsupportedOperation, "gateways are not enabled on this server")
	}
	return h.gateways, nil
}

func derefAll(in []*string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s != nil {
			out = append(out, *s)
		}
	}
	return out
}

type (
	bindProductsRequest struct {
		GatewayProductId *string   `required:"true"`
		ProductIds       []*string `required:"true"`
	}
	bindDevicesRequest struct {
		GatewayProductId  *string   `required:"true"`
		GatewayDeviceName *string   `required:"true"`
		ProductId         *string   `required:"true"`
		DeviceNames       []*string `required:"true"`
	}
	unbindProductsResponse struct {
		GatewayDeviceNames []string
	}
	subProductsRequest struct {
		GatewayProductId *string `required:"true"`
		Offset           int64
		Limit            *int64
		ProjectId        string
		ProductSource    int64
	}
	bindProductInfo struct {
		ProductId        string
		ProductName      string
		ProjectId        string
		DataProtocol     int64
		CategoryId       int64
		ProductType      int64
		NetType          string
		DevStatus        string
		ProductOwnerName string
	}
	subProductsResponse struct {
		Products []bindProductInfo
		Total    int64
	}
	gatewayDevicesRequest struct {
		GatewayProductId  *string `required:"true"`
		GatewayDeviceName *string `required:"true"`
		ProductId         string
		Offset            int64
		Limit             *int64
	}
	bindDeviceInfo struct {
		ProductId  string
		DeviceName string
	}
	gatewayBindDevicesResponse struct {
		Devices     []bindDeviceInfo
		Total       int64
		ProductName string
	}
	familySubDevice struct {
		ProductId   string
		DeviceName  string
		DeviceId    string
		AliasName   string
		FamilyId    string
		RoomId      string
		IconUrl     string
		IconUrlGrid string
		CreateTime  int64
		UpdateTime  int64
	}
	// getGatewaySubDeviceListResponse: DeviceList is an object (the Go
	// SDK's *FamilySubDevice), the first sub-device of the page.
	getGatewaySubDeviceListResponse struct {
		Total      int64
		DeviceList *familySubDevice
	}
	describeGatewaySubDeviceListResponse struct {
		Total      int64
		DeviceList []familySubDevice
	}
	searchGatewaySubDevicesRequest struct {
		GatewayProductId  *string `required:"true"`
		GatewayDeviceName *string `required:"true"`
		Status            *int64  `required:"true"`
	}
	deviceBindGatewayRequest struct {
		ProductId  *string `required:"true"`
		DeviceName *string `required:"true"`
	}
	deviceBindGatewayResponse struct {
		GatewayProductId        string
		GatewayDeviceName       string
		GatewayName             string
		GatewayProductOwnerName string
		GatewayProductOwnerUin  string
	}
)

func (h *Handler) bindProducts(ctx context.Context, req *bindProductsRequest) (*emptyResponse, error) {
	g, err := h.gatewaysOrErr()
	if err != nil {
		return nil, err
	}
	return &emptyResponse{}, gatewayErr(g.BindProducts(ctx, *req.GatewayProductId, derefAll(req.ProductIds)), true)
}

func (h *Handler) unbindProducts(ctx context.Context, req *bindProductsRequest) (*unbindProductsResponse, error) {
	g, err := h.gatewaysOrErr()
	if err != nil {
		return nil, err
	}
	if err := g.UnbindProducts(ctx, *req.GatewayProductId, derefAll(req.ProductIds)); err != nil {
		return nil, gatewayErr(err, true)
	}
	return &unbindProductsResponse{GatewayDeviceNames: []string{}}, nil
}

func productInfo(p registry.Product) bindProductInfo {
	return bindProductInfo{ProductId: p.ID, ProductName: p.Name, ProjectId: p.ProjectID, DataProtocol: p.DataProtocol,
		CategoryId: p.CategoryID, ProductType: p.ProductType, NetType: p.NetType, DevStatus: p.DevStatus}
}

// describeBindedProducts lists the products associated with a gateway product.
func (h *Handler) describeBindedProducts(ctx context.Context, req *subProductsRequest) (*subProductsResponse, error) {
	g, err := h.gatewaysOrErr()
	if err != nil {
		return nil, err
	}
	limit, err := pageLimit(req.Limit)
	if err != nil {
		return nil, err
	}
	sps, err := g.SubProducts(ctx, *req.GatewayProductId)
	if err != nil {
		return nil, gatewayErr(err, true)
	}
	out := &subProductsResponse{Products: []bindProductInfo{}, Total: int64(len(sps))}
	for i := int(max(req.Offset, 0)); i < len(sps) && len(out.Products) < limit; i++ {
		p, err := h.reg.GetProduct(ctx, sps[i].ProductID)
		if err != nil {
			return nil, err
		}
		out.Products = append(out.Products, productInfo(p))
	}
	return out, nil
}

// describeGatewaySubProducts lists the normal products of the gateway
// product's project: those that may be bound to it or unbound.
func (h *Handler) describeGatewaySubProducts(ctx context.Context, req *subProductsRequest) (*subProductsResponse, error) {
	limit, err := pageLimit(req.Limit)
	if err != nil {
		return nil, err
	}
	gw, err := h.reg.GetProduct(ctx, *req.GatewayProductId)
	if err != nil {
		return nil, err
	}
	if gw.ProductType != registry.ProductTypeGateway {
		return nil, gatewayErr(gateway.ErrNotGateway, true)
	}
	all, _, err := h.reg.ListProducts(ctx, registry.ProductFilter{ProjectID: gw.ProjectID})
	if err != nil {
		return nil, err
	}
	out := &subProductsResponse{Products: []bindProductInfo{}}
	for _, p := range all {
		if p.ProductType != registry.ProductTypeNormal {
			continue
		}
		if out.Total >= req.Offset && len(out.Products) < limit {
			out.Products = append(out.Products, productInfo(p))
		}
		out.Total++
	}
	return out, nil
}

func (h *Handler) bindDevices(ctx context.Context, req *bindDevicesRequest) (*emptyResponse, error) {
	g, err := h.gatewaysOrErr()
	if err != nil {
		return nil, err
	}
	err = g.BindDevices(ctx, *req.GatewayProductId, *req.GatewayDeviceName, *req.ProductId, derefAll(req.DeviceNames))
	return &emptyResponse{}, gatewayErr(err, false)
}

func (h *Handler) unbindDevices(ctx context.Context, req *bindDevicesRequest) (*emptyResponse, error) {
	g, err := h.gatewaysOrErr()
	if err != nil {
		return nil, err
	}
	err = g.UnbindDevices(ctx, *req.GatewayProductId, *req.GatewayDeviceName, *req.ProductId, derefAll(req.DeviceNames))
	return &emptyResponse{}, gatewayErr(err, false)
}

func (h *Handler) subDevicePage(ctx context.Context, req *gatewayDevicesRequest) ([]gateway.Binding, int64, error) {
	g, err := h.gatewaysOrErr()
	if err != nil {
		return nil, 0, err
	}
	limit, err := pageLimit(req.Limit)
	if err != nil {
		return nil, 0, err
	}
	if req.Offset < 0 {
		return nil, 0, newError(codeInvalidParameterValue, "parameter Offset: must not be negative")
	}
	list, total, err := g.SubDevices(ctx, *req.GatewayProductId, *req.GatewayDeviceName, req.ProductId, int(req.Offset), limit)
	return list, total, gatewayErr(err, false)
}

func (h *Handler) describeGatewayBindDevices(ctx context.Context, req *gatewayDevicesRequest) (*gatewayBindDevicesResponse, error) {
	if req.ProductId == "" {
		return nil, newError(codeMissingParameter, "missing required parameter ProductId")
	}
	p, err := h.reg.GetProduct(ctx, req.ProductId)
	if err != nil {
		return nil, err
	}
	list, total, err := h.subDevicePage(ctx, req)
	if err != nil {
		return nil, err
	}
	out := &gatewayBindDevicesResponse{Devices: []bindDeviceInfo{}, Total: total, ProductName: p.Name}
	for _, b := range list {
		out.Devices = append(out.Devices, bindDeviceInfo{ProductId: b.ProductID, DeviceName: b.DeviceName})
	}
	return out, nil
}

func subDevice(b gateway.Binding) familySubDevice {
	return familySubDevice{ProductId: b.ProductID, DeviceName: b.DeviceName, DeviceId: b.ProductID + "/" + b.DeviceName,
		RoomId: "0", CreateTime: unixSec(b.BoundAt), UpdateTime: unixSec(b.BoundAt)}
}

func (h *Handler) getGatewaySubDeviceList(ctx context.Context, req *gatewayDevicesRequest) (*getGatewaySubDeviceListResponse, error) {
	list, total, err := h.subDevicePage(ctx, req)
	if err != nil {
		return nil, err
	}
	out := &getGatewaySubDeviceListResponse{Total: total}
	if len(list) > 0 {
		d := subDevice(list[0])
		out.DeviceList = &d
	}
	return out, nil
}

func (h *Handler) describeGatewaySubDeviceList(ctx context.Context, req *gatewayDevicesRequest) (*describeGatewaySubDeviceListResponse, error) {
	list, total, err := h.subDevicePage(ctx, req)
	if err != nil {
		return nil, err
	}
	out := &describeGatewaySubDeviceListResponse{Total: total, DeviceList: []familySubDevice{}}
	for _, b := range list {
		out.DeviceList = append(out.DeviceList, subDevice(b))
	}
	return out, nil
}

func (h *Handler) describeDeviceBindGateway(ctx context.Context, req *deviceBindGatewayRequest) (*deviceBindGatewayResponse, error) {
	g, err := h.gatewaysOrErr()
	if err != nil {
		return nil, err
	}
	if _, err := h.reg.GetDevice(ctx, *req.ProductId, *req.DeviceName); err != nil {
		return nil, err
	}
	b, err := g.BindingOf(ctx, *req.ProductId, *req.DeviceName)
	if err != nil {
		return nil, gatewayErr(err, false)
	}
	p, err := h.reg.GetProduct(ctx, b.GatewayProductID)
	if err != nil {
		return nil, err
	}
	return &deviceBindGatewayResponse{GatewayProductId: b.GatewayProductID, GatewayDeviceName: b.GatewayName, GatewayName: p.Name}, nil
}

// searchGatewaySubDevices (Thingo-specific) asks an online gateway device to
// start (Status 1) or stop (0) discovering sub-devices: search_devices on
// $gateway/operation/result (PROTOCOL.md §8). An offline gateway is
// FailedOperation.DeviceOffline.
func (h *Handler) searchGatewaySubDevices(ctx context.Context, req *searchGatewaySubDevicesRequest) (*emptyResponse, error) {
	g, err := h.gatewaysOrErr()
	if err != nil {
		return nil, err
	}
	if *req.Status != 0 && *req.Status != 1 {
		return nil, gatewayErr(gateway.ErrBadStatus, false)
	}
	err = g.SearchDevices(ctx, *req.GatewayProductId, *req.GatewayDeviceName, int(*req.Status))
	if err != nil {
		return nil, gatewayErr(err, false)
	}
	return &emptyResponse{}, nil
}

// Values of DeviceInfo.DeviceType (tencent-cloud-api.md: "device,
// sub-device or gateway").
const (
	deviceTypeDevice    = "device"
	deviceTypeSubDevice = "sub-device"
	deviceTypeGateway   = "gateway"
)

// deviceType returns the DeviceType of a device: gateway for a device of a
// gateway product, sub-device for one bound to a gateway, device otherwise.
func (h *Handler) deviceType(ctx context.Context, d registry.Device, p registry.Product) (string, error) {
	if p.ProductType == registry.ProductTypeGateway {
		return deviceTypeGateway, nil
	}
	if h.gateways == nil {
		return deviceTypeDevice, nil
	}
	_, err := h.gateways.BindingOf(ctx, d.ProductID, d.Name)
	switch {
	case err == nil:
		return deviceTypeSubDevice, nil
	case errors.Is(err, gateway.ErrNotBound):
		return deviceTypeDevice, nil
	}
	return "", err
}

// subDeviceBinding returns the binding of a device about to be deleted, nil
// when it is not bound (or gateways are off): its row goes with the device.
func (h *Handler) subDeviceBinding(ctx context.Context, pid, dn string) (*gateway.Binding, error) {
	if h.gateways == nil {
		return nil, nil
	}
	b, err := h.gateways.BindingOf(ctx, pid, dn)
	switch {
	case err == nil:
		return &b, nil
	case errors.Is(err, gateway.ErrNotBound):
		return nil, nil
	}
	return nil, err
}

// subDeviceDeleted takes a deleted device out of its gateway's online set
// and tells a gateway it was bound to (change, status 0).
func (h *Handler) subDeviceDeleted(ctx context.Context, pid, dn string, b *gateway.Binding) {
	if h.gateways != nil {
		h.gateways.SubDeviceDeleted(ctx, pid, dn, b)
	}
}
