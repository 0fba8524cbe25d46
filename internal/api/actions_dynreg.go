package api

import (
	"context"
	"errors"
	"time"

	"github.com/thingo-iot/thingo/internal/devicelog"
	"github.com/thingo-iot/thingo/internal/registry"
)

// DeviceLogs reads the logs devices upload over HTTP (internal/devicelog).
type DeviceLogs interface {
	List(ctx context.Context, q devicelog.Query) ([]devicelog.Entry, int64, error)
}

type (
	describeProductDynamicRegisterResponse struct {
		RegisterType  uint64
		ProductSecret string
		RegisterLimit uint64
	}
	modifyProductDynamicRegisterRequest struct {
		ProductId     *string `required:"true"`
		RegisterType  *uint64 `required:"true"`
		RegisterLimit *uint64 `required:"true"`
		// AllowReregister is Thingo's own: let a device that already
		// connected register again (default: keep the current setting,
		// initially false).
		AllowReregister *bool
	}

	// describeDeviceLogsRequest is Thingo's own action DescribeDeviceLogs:
	// the log lines a device uploaded to /cgi-bin/report-log, newest first.
	// MinTime and MaxTime are unix milliseconds of reception (MaxTime
	// exclusive); 0 means no bound.
	describeDeviceLogsRequest struct {
		ProductId  *string `required:"true"`
		DeviceName *string `required:"true"`
		MinTime    uint64
		MaxTime    uint64
		Offset     int64
		Limit      *int64
	}
	describeDeviceLogsResponse struct {
		Logs  []DeviceLogItem
		Total int64
	}
)

// DeviceLogItem is one uploaded log line.
type DeviceLogItem struct {
	Id         int64  // increasing in arrival order
	Time       uint64 // reception, unix milliseconds
	DeviceTime string // the line's own "YYYY-MM-DD HH:MM:SS" (device local time)
	Level      string // ERR, WRN, INF, DBG, or "" for an unformatted line
	Content    string // the whole line as sent
}

func (h *Handler) describeProductDynamicRegister(ctx context.Context, req *productIDRequest) (*describeProductDynamicRegisterResponse, error) {
	s, err := h.reg.DynamicRegister(ctx, *req.ProductId)
	if err != nil {
		return nil, err
	}
	return &describeProductDynamicRegisterResponse{
		RegisterType: uint64(s.Type), ProductSecret: s.ProductSecret, RegisterLimit: uint64(s.Limit),
	}, nil
}

func (h *Handler) modifyProductDynamicRegister(ctx context.Context, req *modifyProductDynamicRegisterRequest) (*describeProductDynamicRegisterResponse, error) {
	if *req.RegisterType > 2 {
		return nil, newError(codeInvalidParameterValue, "parameter RegisterType: must be 0 (off), 1 (pre-created devices) or 2 (auto-create)")
	}
	if *req.RegisterLimit > 1<<40 {
		return nil, newError(codeInvalidParameterValue, "parameter RegisterLimit: too large")
	}
	s, err := h.reg.ModifyDynamicRegister(ctx, *req.ProductId, registry.DynamicRegisterUpdate{
		Type: int(*req.RegisterType), Limit: int64(*req.RegisterLimit), AllowReregister: req.AllowReregister,
	})
	if err != nil {
		return nil, err
	}
	return &describeProductDynamicRegisterResponse{
		RegisterType: uint64(s.Type), ProductSecret: s.ProductSecret, RegisterLimit: uint64(s.Limit),
	}, nil
}

func (h *Handler) describeDeviceLogs(ctx context.Context, req *describeDeviceLogsRequest) (*describeDeviceLogsResponse, error) {
	if h.logs == nil {
		return nil, newError(codeFailedOperation, "device logs are not kept by this server")
	}
	if _, err := h.reg.GetDevice(ctx, *req.ProductId, *req.DeviceName); err != nil {
		return nil, err
	}
	limit, err := pageLimit(req.Limit)
	if err != nil {
		return nil, err
	}
	if req.Offset < 0 {
		return nil, newError(codeInvalidParameterValue, "parameter Offset: must not be negative")
	}
	q := devicelog.Query{ProductID: *req.ProductId, DeviceName: *req.DeviceName, Offset: int(req.Offset), Limit: limit}
	if req.MinTime > 0 {
		q.Since = time.UnixMilli(int64(req.MinTime))
	}
	if req.MaxTime > 0 {
		q.Until = time.UnixMilli(int64(req.MaxTime))
	}
	es, total, err := h.logs.List(ctx, q)
	if errors.Is(err, devicelog.ErrInvalidQuery) {
		return nil, newError(codeInvalidParameterValue, err.Error())
	}
	if err != nil {
		return nil, err
	}
	out := &describeDeviceLogsResponse{Logs: make([]DeviceLogItem, 0, len(es)), Total: total}
	for _, e := range es {
		out.Logs = append(out.Logs, DeviceLogItem{
			Id: e.ID, Time: uint64(e.Received.UnixMilli()), DeviceTime: e.DeviceTime, Level: e.Level, Content: e.Line,
		})
	}
	return out, nil
}
