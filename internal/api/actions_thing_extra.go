package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/thingo-iot/thingo/internal/devicedata"
)

// Thingo-specific actions of the thing model (not in Tencent's API):
// PublishAlertFenceEvent, DescribeDeviceRawData and DescribeDeviceCallResult.
// See docs/thing-model.md.

// ThingExtras is the part of the thing-data service behind the
// Thingo-specific actions; a ThingData that implements it enables them.
type ThingExtras interface {
	SendAlertFence(ctx context.Context, productID, deviceName string, f devicedata.AlertFence) (string, error)
	RawData(ctx context.Context, q devicedata.RawQuery) ([]devicedata.RawRecord, int64, error)
	Call(ctx context.Context, productID, deviceName, clientToken string) (devicedata.CallRecord, error)
}

// DeviceRawData is one stored $thing/up/raw message.
type DeviceRawData struct {
	Time    int64  // unix milliseconds
	Payload string // base64
}

const maxRawLimit = 100

type (
	publishAlertFenceEventRequest struct {
		ProductId      *string `required:"true"`
		DeviceName     *string `required:"true"`
		AlertType      *string `required:"true"`
		AlertCondition string
		FenceName      *string `required:"true"`
		Longitude      float64
		Latitude       float64
		AlarmTime      int64 // unix seconds; 0: now
	}
	publishAlertFenceEventResponse struct {
		ClientToken string
	}
	describeDeviceRawDataRequest struct {
		ProductId  *string `required:"true"`
		DeviceName *string `required:"true"`
		Limit      int64
		Context    string
	}
	describeDeviceRawDataResponse struct {
		Total    int64
		Listover bool
		Context  string
		Data     []DeviceRawData
	}
	describeDeviceCallResultRequest struct {
		ProductId   *string `required:"true"`
		DeviceName  *string `required:"true"`
		ClientToken *string `required:"true"`
	}
	describeDeviceCallResultResponse struct {
		ClientToken  string
		Method       string // "action" or "alert_fence_event"
		ActionId     string
		InputParams  string
		CreateTime   int64 // unix milliseconds
		Replied      bool
		ReplyTime    int64 // unix milliseconds; 0 until replied
		Code         int64
		Status       string
		OutputParams string
	}
)

func (h *Handler) thingExtras() (ThingExtras, error) {
	td, err := h.thingData()
	if err != nil {
		return nil, err
	}
	x, ok := td.(ThingExtras)
	if !ok {
		return nil, newError(codeFailedOperation, "this action is not available on this server")
	}
	return x, nil
}

func (h *Handler) publishAlertFenceEvent(ctx context.Context, req *publishAlertFenceEventRequest) (*publishAlertFenceEventResponse, error) {
	x, err := h.thingExtras()
	if err != nil {
		return nil, err
	}
	pid, dn, err := h.deviceRef(ctx, *req.ProductId, *req.DeviceName, "")
	if err != nil {
		return nil, err
	}
	switch *req.AlertType {
	case "In", "Out":
	default:
		return nil, newError(codeInvalidParameterValue, `parameter AlertType: must be "In" or "Out"`)
	}
	cond := req.AlertCondition
	if cond == "" {
		cond = "InOrOut"
	}
	var alarm time.Time
	if req.AlarmTime < 0 {
		return nil, newError(codeInvalidParameterValue, "parameter AlarmTime: must be unix seconds")
	}
	if req.AlarmTime > 0 {
		alarm = time.Unix(req.AlarmTime, 0)
	}
	tok, err := x.SendAlertFence(ctx, pid, dn, devicedata.AlertFence{
		AlertType: *req.AlertType, AlertCondition: cond, FenceName: *req.FenceName,
		Longitude: req.Longitude, Latitude: req.Latitude, AlarmTime: alarm,
	})
	if errors.Is(err, devicedata.ErrBadFence) {
		return nil, newError(codeInvalidParameterValue, err.Error())
	}
	if err != nil {
		return nil, err
	}
	return &publishAlertFenceEventResponse{ClientToken: tok}, nil
}

func (h *Handler) describeDeviceRawData(ctx context.Context, req *describeDeviceRawDataRequest) (*describeDeviceRawDataResponse, error) {
	x, err := h.thingExtras()
	if err != nil {
		return nil, err
	}
	pid, dn, err := h.deviceRef(ctx, *req.ProductId, *req.DeviceName, "")
	if err != nil {
		return nil, err
	}
	limit := req.Limit
	if limit == 0 {
		limit = defaultLimit
	}
	if limit < 0 || limit > maxRawLimit {
		return nil, newError(codeInvalidParameterValue, fmt.Sprintf("parameter Limit: must be between 1 and %d", maxRawLimit))
	}
	var before int64
	if req.Context != "" {
		before, err = strconv.ParseInt(req.Context, 10, 64)
		if err != nil || before <= 0 {
			return nil, newError(codeInvalidParameterValue, "parameter Context: not a context this server returned")
		}
	}
	// One more than asked tells whether the listing is over.
	recs, total, err := x.RawData(ctx, devicedata.RawQuery{ProductID: pid, DeviceName: dn, BeforeSeq: before, Limit: int(limit) + 1})
	if err != nil {
		return nil, err
	}
	resp := &describeDeviceRawDataResponse{Total: total, Listover: len(recs) <= int(limit), Data: []DeviceRawData{}}
	if !resp.Listover {
		recs = recs[:limit]
		resp.Context = strconv.FormatInt(recs[len(recs)-1].Seq, 10)
	}
	for _, r := range recs {
		resp.Data = append(resp.Data, DeviceRawData{Time: r.At.UnixMilli(), Payload: base64.StdEncoding.EncodeToString(r.Payload)})
	}
	return resp, nil
}

func (h *Handler) describeDeviceCallResult(ctx context.Context, req *describeDeviceCallResultRequest) (*describeDeviceCallResultResponse, error) {
	x, err := h.thingExtras()
	if err != nil {
		return nil, err
	}
	pid, dn, err := h.deviceRef(ctx, *req.ProductId, *req.DeviceName, "")
	if err != nil {
		return nil, err
	}
	c, err := x.Call(ctx, pid, dn, *req.ClientToken)
	if errors.Is(err, devicedata.ErrCallNotFound) {
		return nil, newError(codeResourceNotFound, "no call with this ClientToken")
	}
	if err != nil {
		return nil, err
	}
	resp := &describeDeviceCallResultResponse{
		ClientToken: c.ClientToken, Method: c.Method, InputParams: string(c.Request),
		CreateTime: c.CreatedAt.UnixMilli(), Replied: c.Replied(), Code: int64(c.Code), Status: c.Status,
		OutputParams: string(c.Response),
	}
	if c.Method == devicedata.CallAction {
		resp.ActionId = c.Name
	}
	if c.Replied() {
		resp.ReplyTime = c.RepliedAt.UnixMilli()
	}
	return resp, nil
}
