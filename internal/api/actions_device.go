package api

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/protocol"
)

// deviceInfo is the API view of a device; DeviceType comes from
// Handler.deviceType.
func deviceInfo(d registry.Device, p registry.Product, psk, typ string) DeviceInfo {
	return DeviceInfo{
		DeviceName: d.Name, Status: d.Status(), DevicePsk: psk,
		FirstOnlineTime: unixSec(d.Presence.FirstOnline), LoginTime: unixSec(d.Presence.LastLogin),
		CreateTime: unixSec(d.CreatedAt), Version: d.Version, DeviceCert: d.CertPEM, LogLevel: int64(d.LogLevel),
		EnableState: int64(d.EnableState), ProductId: d.ProductID, ProductName: p.Name, DeviceType: typ,
	}
}

func (h *Handler) createDevice(ctx context.Context, req *createDeviceRequest) (*createDeviceResponse, error) {
	out, err := h.reg.CreateDevice(ctx, *req.ProductId, *req.DeviceName, req.DefinedPsk)
	if err != nil {
		return nil, err
	}
	return &createDeviceResponse{Data: DeviceData{
		DeviceName: out.Device.Name, DevicePsk: out.PSK, DeviceCert: out.CertPEM, DevicePrivateKey: out.KeyPEM,
	}}, nil
}

func (h *Handler) describeDevice(ctx context.Context, req *describeDeviceRequest) (*describeDeviceResponse, error) {
	pid, dn := req.ProductId, req.DeviceName
	if req.DeviceId != "" {
		var ok bool
		pid, dn, ok = strings.Cut(req.DeviceId, "/")
		if !ok || pid == "" || dn == "" {
			return nil, newError(codeInvalidParameterValue, "parameter DeviceId: must be ProductId/DeviceName")
		}
	}
	switch {
	case pid == "":
		return nil, newError(codeMissingParameter, "missing required parameter ProductId")
	case dn == "":
		return nil, newError(codeMissingParameter, "missing required parameter DeviceName")
	}
	det, err := h.reg.GetDevice(ctx, pid, dn)
	if err != nil {
		return nil, err
	}
	typ, err := h.deviceType(ctx, det.Device, det.Product)
	if err != nil {
		return nil, err
	}
	return &describeDeviceResponse{Device: deviceInfo(det.Device, det.Product, det.PSK, typ)}, nil
}

func (h *Handler) deleteDevice(ctx context.Context, req *deleteDeviceRequest) (*resultResponse, error) {
	bound, err := h.subDeviceBinding(ctx, *req.ProductId, *req.DeviceName)
	if err != nil {
		return nil, err
	}
	if err := h.reg.DeleteDevice(ctx, *req.ProductId, *req.DeviceName); err != nil {
		return nil, err
	}
	h.subDeviceDeleted(ctx, *req.ProductId, *req.DeviceName, bound)
	h.unbindAndDisconnect(ctx, *req.ProductId, *req.DeviceName)
	return &resultResponse{ResultCode: "0", ResultMessage: "success"}, nil
}

// farewell is implemented by Sessions that can write a last message to a
// device and then close its connection, in that order.
type farewell interface {
	DisconnectWith(ctx context.Context, productID, deviceName, topic string, payload []byte) error
}

// unbindAndDisconnect tells a deleted device that it was removed (PROTOCOL.md
// §5.7, §13.5: unbind_device on $thing/down/service) and closes its
// connection. An offline device gets nothing; that is not an error, as the
// device is gone anyway.
func (h *Handler) unbindAndDisconnect(ctx context.Context, pid, dn string) {
	f, ok := h.sessions.(farewell)
	if !ok {
		h.disconnect(ctx, pid, dn)
		return
	}
	msg, err := json.Marshal(map[string]any{
		"method":      "unbind_device",
		"DeviceId":    pid + "/" + dn,
		"clientToken": "unbind-" + strconv.FormatInt(h.now().UnixNano(), 36),
		"timestamp":   h.now().Unix(),
	})
	if err == nil {
		err = f.DisconnectWith(ctx, pid, dn, protocol.ThingDown(protocol.KindService, pid, dn), msg)
	}
	if err != nil {
		h.log.Debug("unbind_device", "product_id", pid, "device_name", dn, "err", err)
	}
}

// disconnect closes a device's connection after it was deleted or disabled;
// a failure is logged, as the device can no longer authenticate anyway.
func (h *Handler) disconnect(ctx context.Context, pid, dn string) {
	if err := h.sessions.Disconnect(ctx, pid, dn); err != nil {
		h.log.Warn("disconnect device", "product_id", pid, "device_name", dn, "err", err)
	}
}

// checkDevices makes sure every listed device exists before a batch changes
// any of them.
func (h *Handler) checkDevices(ctx context.Context, items []DevicesItem) error {
	if len(items) == 0 {
		return newError(codeInvalidParameterValue, "parameter DevicesItems: must not be empty")
	}
	if len(items) > maxLimit {
		return newError(codeInvalidParameterValue, "parameter DevicesItems: at most 100 devices")
	}
	for _, it := range items {
		if _, err := h.reg.GetDevice(ctx, *it.ProductId, *it.DeviceName); err != nil {
			return err
		}
	}
	return nil
}

func (h *Handler) deleteDevices(ctx context.Context, req *deleteDevicesRequest) (*resultResponse, error) {
	if err := h.checkDevices(ctx, req.DevicesItems); err != nil {
		return nil, err
	}
	for _, it := range req.DevicesItems {
		bound, err := h.subDeviceBinding(ctx, *it.ProductId, *it.DeviceName)
		if err != nil {
			return nil, err
		}
		if err := h.reg.DeleteDevice(ctx, *it.ProductId, *it.DeviceName); err != nil {
			return nil, err
		}
		h.subDeviceDeleted(ctx, *it.ProductId, *it.DeviceName, bound)
		h.unbindAndDisconnect(ctx, *it.ProductId, *it.DeviceName)
	}
	return &resultResponse{ResultCode: "0", ResultMessage: "success"}, nil
}

func (h *Handler) updateDevicesEnableState(ctx context.Context, req *updateDevicesEnableStateRequest) (*resultResponse, error) {
	if *req.Status != registry.Enabled && *req.Status != registry.Disabled {
		return nil, newError(codeInvalidParameterValue, "parameter Status: must be 0 (disable) or 1 (enable)")
	}
	if err := h.checkDevices(ctx, req.DevicesItems); err != nil {
		return nil, err
	}
	for _, it := range req.DevicesItems {
		if err := h.reg.SetDeviceEnabled(ctx, *it.ProductId, *it.DeviceName, int(*req.Status)); err != nil {
			return nil, err
		}
		if *req.Status == registry.Disabled {
			h.disconnect(ctx, *it.ProductId, *it.DeviceName)
		}
	}
	return &resultResponse{ResultCode: "0", ResultMessage: "success"}, nil
}

func (h *Handler) getDeviceList(ctx context.Context, req *getDeviceListRequest) (*getDeviceListResponse, error) {
	limit, err := pageLimit(req.Limit)
	if err != nil {
		return nil, err
	}
	if req.Offset < 0 {
		return nil, newError(codeInvalidParameterValue, "parameter Offset: must not be negative")
	}
	f := registry.DeviceFilter{
		NameContains: req.DeviceName, FirmwareVersion: req.FirmwareVersion, Offset: int(req.Offset), Limit: limit,
	}
	if len(req.Filters) > 10 {
		return nil, newError(codeInvalidParameterValue, "parameter Filters: at most 10 filters")
	}
	for i, flt := range req.Filters {
		if len(flt.Values) != 1 {
			return nil, newError(codeInvalidParameterValue, "parameter Filters."+itoa(i)+".Values: exactly one value")
		}
		switch *flt.Name {
		case "DeviceName":
			f.NameContains = flt.Values[0]
		case "FirmwareVersion":
			f.FirmwareVersion = flt.Values[0]
		default:
			return nil, newError(codeInvalidParameterValue, "parameter Filters."+itoa(i)+".Name: unsupported filter "+*flt.Name+" (use DeviceName or FirmwareVersion)")
		}
	}
	products := map[string]registry.Product{}
	if *req.ProductId == "-1" {
		if req.ProjectId == "" {
			return nil, newError(codeMissingParameter, "missing required parameter ProjectId (ProductId is -1)")
		}
		if _, _, err := h.reg.GetProject(ctx, req.ProjectId); err != nil {
			return nil, err
		}
		f.ProjectID = req.ProjectId
	} else {
		p, err := h.reg.GetProduct(ctx, *req.ProductId)
		if err != nil {
			return nil, err
		}
		products[p.ID] = p
		f.ProductID = p.ID
	}
	ds, total, err := h.reg.ListDevices(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &getDeviceListResponse{Devices: make([]DeviceInfo, 0, len(ds)), Total: total}
	for _, d := range ds {
		p, ok := products[d.ProductID]
		if !ok {
			if p, err = h.reg.GetProduct(ctx, d.ProductID); err != nil {
				return nil, err
			}
			products[p.ID] = p
		}
		typ, err := h.deviceType(ctx, d, p)
		if err != nil {
			return nil, err
		}
		out.Devices = append(out.Devices, deviceInfo(d, p, "", typ))
	}
	return out, nil
}

func (h *Handler) getDeviceSumStatistics(ctx context.Context, req *getDeviceSumStatisticsRequest) (*getDeviceSumStatisticsResponse, error) {
	st, err := h.reg.DeviceStats(ctx, *req.ProjectId, req.ProductIds)
	if err != nil {
		return nil, err
	}
	return &getDeviceSumStatisticsResponse{
		ActivationCount: st.Activated, OnlineCount: st.Online,
		ActivationBeforeDay: st.ActivatedSince1Day, ActiveBeforeDay: st.ActiveSince1Day,
		ActivationWeekDayCount: st.ActivatedSince7Days, ActiveWeekDayCount: st.ActiveSince7Days,
		ActivationBeforeWeekDayCount: st.ActivatedPrev7Days, ActiveBeforeWeekDayCount: st.ActivePrev7Days,
	}, nil
}
