package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/thingmodel"
)

// Limits of the history actions.
const (
	maxHistoryLimit = 500
	maxEventSize    = 100
)

// DeviceDataHistoryItem is one stored value of a property.
type DeviceDataHistoryItem struct {
	Time  string
	Value string
}

// EventHistoryItem is one event a device posted.
type EventHistoryItem struct {
	TimeStamp  int64
	ProductId  string
	DeviceName string
	EventId    string
	Type       string
	Data       string
}

type (
	describeDeviceDataRequest struct {
		ProductId  string
		DeviceName string
		DeviceId   string
	}
	describeDeviceDataResponse struct {
		Data string
	}
	describeDeviceDataHistoryRequest struct {
		MinTime    *uint64 `required:"true"`
		MaxTime    *uint64 `required:"true"`
		ProductId  *string `required:"true"`
		DeviceName *string `required:"true"`
		FieldName  *string `required:"true"`
		Limit      *int64
		Context    string
	}
	describeDeviceDataHistoryResponse struct {
		FieldName string
		Listover  bool
		Context   string
		Results   []DeviceDataHistoryItem
	}
	controlDeviceDataRequest struct {
		ProductId     string
		DeviceName    string
		Data          *string `required:"true"`
		Method        string
		DeviceId      string
		DataTimestamp int64
	}
	controlDeviceDataResponse struct {
		Data   string
		Result string
	}
	callDeviceActionRequest struct {
		ProductId   *string `required:"true"`
		DeviceName  *string `required:"true"`
		ActionId    *string `required:"true"`
		InputParams string
	}
	callDeviceActionSyncResponse struct {
		ClientToken  string
		OutputParams string
		Status       string
	}
	callDeviceActionAsyncResponse struct {
		ClientToken string
		Status      string
	}
	listEventHistoryRequest struct {
		ProductId  *string `required:"true"`
		DeviceName *string `required:"true"`
		Type       string
		StartTime  int64
		EndTime    uint64
		Context    string
		Size       *int64
		EventId    string
	}
	listEventHistoryResponse struct {
		Context      string
		Total        int64
		Listover     bool
		EventHistory []EventHistoryItem
	}
)

// deviceRef resolves ProductId/DeviceName or DeviceId ("pid/dn") and checks
// that the device exists.
func (h *Handler) deviceRef(ctx context.Context, pid, dn, deviceID string) (string, string, error) {
	if deviceID != "" {
		var ok bool
		pid, dn, ok = strings.Cut(deviceID, "/")
		if !ok || pid == "" || dn == "" {
			return "", "", newError(codeInvalidParameterValue, "parameter DeviceId: must be ProductId/DeviceName")
		}
	}
	switch {
	case pid == "":
		return "", "", newError(codeMissingParameter, "missing required parameter ProductId")
	case dn == "":
		return "", "", newError(codeMissingParameter, "missing required parameter DeviceName")
	}
	if _, err := h.reg.GetDevice(ctx, pid, dn); err != nil {
		return "", "", err
	}
	return pid, dn, nil
}

func (h *Handler) describeDeviceData(ctx context.Context, req *describeDeviceDataRequest) (*describeDeviceDataResponse, error) {
	td, err := h.thingData()
	if err != nil {
		return nil, err
	}
	pid, dn, err := h.deviceRef(ctx, req.ProductId, req.DeviceName, req.DeviceId)
	if err != nil {
		return nil, err
	}
	st, err := td.Status(ctx, pid, dn)
	if err != nil {
		return nil, err
	}
	type entry struct {
		Value      json.RawMessage
		LastUpdate int64
	}
	data := make(map[string]entry, len(st.Reported))
	for _, v := range st.Reported {
		data[v.ID] = entry{Value: v.Value, LastUpdate: v.UpdatedAt.UnixMilli()}
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encode device data: %w", err)
	}
	return &describeDeviceDataResponse{Data: string(b)}, nil
}

// cursor is a paging Context: "<unix ms>:<seq>".
func parseCursor(s string) (time.Time, int64, error) {
	if s == "" {
		return time.Time{}, 0, nil
	}
	ts, seq, ok := strings.Cut(s, ":")
	ms, err1 := strconv.ParseInt(ts, 10, 64)
	n, err2 := strconv.ParseInt(seq, 10, 64)
	if !ok || err1 != nil || err2 != nil || ms <= 0 {
		return time.Time{}, 0, newError(codeInvalidParameterValue, "parameter Context: not a context this server returned")
	}
	return time.UnixMilli(ms), n, nil
}

func formatCursor(t time.Time, seq int64) string {
	return strconv.FormatInt(t.UnixMilli(), 10) + ":" + strconv.FormatInt(seq, 10)
}

// valueString renders a stored JSON value: strings without quotes, other
// values as JSON text.
func valueString(v json.RawMessage) string {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s
	}
	return string(v)
}

func (h *Handler) describeDeviceDataHistory(ctx context.Context, req *describeDeviceDataHistoryRequest) (*describeDeviceDataHistoryResponse, error) {
	td, err := h.thingData()
	if err != nil {
		return nil, err
	}
	pid, dn, err := h.deviceRef(ctx, *req.ProductId, *req.DeviceName, "")
	if err != nil {
		return nil, err
	}
	if *req.MinTime > *req.MaxTime {
		return nil, newError(codeInvalidParameterValue, "parameter MinTime: must not be after MaxTime")
	}
	limit := int64(defaultLimit)
	if req.Limit != nil && *req.Limit != 0 {
		if *req.Limit < 0 || *req.Limit > maxHistoryLimit {
			return nil, newError(codeInvalidParameterValue, fmt.Sprintf("parameter Limit: must be between 1 and %d", maxHistoryLimit))
		}
		limit = *req.Limit
	}
	after, seq, err := parseCursor(req.Context)
	if err != nil {
		return nil, err
	}
	pts, err := td.PropertyHistory(ctx, devicedata.HistoryQuery{
		ProductID: pid, DeviceName: dn, PropertyID: *req.FieldName,
		From: time.UnixMilli(int64(min(*req.MinTime, 1<<62))), To: time.UnixMilli(int64(min(*req.MaxTime, 1<<62))),
		AfterTime: after, AfterSeq: seq, Limit: int(limit) + 1,
	})
	if err != nil {
		return nil, err
	}
	out := &describeDeviceDataHistoryResponse{FieldName: *req.FieldName, Listover: true, Results: []DeviceDataHistoryItem{}}
	if len(pts) > int(limit) {
		pts = pts[:limit]
		out.Listover = false
		last := pts[len(pts)-1]
		out.Context = formatCursor(last.At, last.Seq)
	}
	for _, p := range pts {
		out.Results = append(out.Results, DeviceDataHistoryItem{
			Time: strconv.FormatInt(p.At.UnixMilli(), 10), Value: valueString(p.Value),
		})
	}
	return out, nil
}

func (h *Handler) controlDeviceData(ctx context.Context, req *controlDeviceDataRequest) (*controlDeviceDataResponse, error) {
	td, err := h.thingData()
	if err != nil {
		return nil, err
	}
	pid, dn, err := h.deviceRef(ctx, req.ProductId, req.DeviceName, req.DeviceId)
	if err != nil {
		return nil, err
	}
	data := []byte(*req.Data)
	switch req.Method {
	case "", "desired":
		res, err := td.Control(ctx, pid, dn, data)
		if err != nil {
			return nil, dataError(err)
		}
		sent, push := 0, 23101
		if res.Sent {
			sent, push = 1, 0
		}
		result, _ := json.Marshal(map[string]any{"Sent": sent, "pushResult": push, "clientToken": res.ClientToken})
		return &controlDeviceDataResponse{Result: string(result)}, nil
	case "reported":
		var at time.Time
		if req.DataTimestamp > 0 {
			at = time.UnixMilli(req.DataTimestamp)
		}
		if err := td.ReportAsCloud(ctx, pid, dn, data, at); err != nil {
			return nil, dataError(err)
		}
		return &controlDeviceDataResponse{Result: `{"Sent":0,"pushResult":0}`}, nil
	default:
		return nil, newError(codeInvalidParameterValue, `parameter Method: must be "desired" or "reported"`)
	}
}

// dataError maps validation errors of Data to InvalidParameterValue.
func dataError(err error) error {
	var ve *thingmodel.ValueError
	switch {
	case errors.As(err, &ve):
		return newError(codeInvalidParameterValue, "parameter Data: "+ve.Error())
	case errors.Is(err, devicedata.ErrNotObject):
		return newError(codeInvalidParameterValue, "parameter Data: must be a JSON object")
	}
	return err
}

func (h *Handler) callAction(ctx context.Context, req *callDeviceActionRequest, wait bool) (devicedata.ActionResult, error) {
	td, err := h.thingData()
	if err != nil {
		return devicedata.ActionResult{}, err
	}
	pid, dn, err := h.deviceRef(ctx, *req.ProductId, *req.DeviceName, "")
	if err != nil {
		return devicedata.ActionResult{}, err
	}
	res, err := td.CallAction(ctx, pid, dn, *req.ActionId, []byte(req.InputParams), wait)
	var ve *thingmodel.ValueError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &ve) && ve.Param == *req.ActionId && errors.Is(err, thingmodel.ErrNotInModel):
		return res, newError(codeActionNilOrNotExist, "action "+strconv.Quote(*req.ActionId)+" is not defined in the thing model")
	case errors.As(err, &ve), errors.Is(err, devicedata.ErrNotObject):
		return res, newError(codeActionInputInvalid, "parameter InputParams: "+err.Error())
	case errors.Is(err, devicedata.ErrDeviceOffline):
		return res, newError(codeActionUnreachable, "device is offline or not subscribed to $thing/down/action")
	case errors.Is(err, devicedata.ErrActionTimeout):
		return res, newError(codeTimeout, "the device did not answer the action in time")
	}
	return res, err
}

func (h *Handler) callDeviceActionSync(ctx context.Context, req *callDeviceActionRequest) (*callDeviceActionSyncResponse, error) {
	res, err := h.callAction(ctx, req, true)
	if err != nil {
		return nil, err
	}
	if res.OutputErr != nil {
		return nil, newError(codeFailedOperation, "the device answered with invalid output: "+res.OutputErr.Error())
	}
	out := string(res.Output)
	if out == "" {
		out = "{}"
	}
	return &callDeviceActionSyncResponse{ClientToken: res.ClientToken, OutputParams: out, Status: res.Status}, nil
}

func (h *Handler) callDeviceActionAsync(ctx context.Context, req *callDeviceActionRequest) (*callDeviceActionAsyncResponse, error) {
	res, err := h.callAction(ctx, req, false)
	if err != nil {
		return nil, err
	}
	return &callDeviceActionAsyncResponse{ClientToken: res.ClientToken, Status: res.Status}, nil
}

func (h *Handler) listEventHistory(ctx context.Context, req *listEventHistoryRequest) (*listEventHistoryResponse, error) {
	td, err := h.thingData()
	if err != nil {
		return nil, err
	}
	pid, dn, err := h.deviceRef(ctx, *req.ProductId, *req.DeviceName, "")
	if err != nil {
		return nil, err
	}
	switch req.Type {
	case "", thingmodel.EventInfo, thingmodel.EventAlert, thingmodel.EventFault:
	default:
		return nil, newError(codeInvalidParameterValue, "parameter Type: must be info, alert or fault")
	}
	size := int64(defaultLimit)
	if req.Size != nil && *req.Size != 0 {
		if *req.Size < 0 || *req.Size > maxEventSize {
			return nil, newError(codeInvalidParameterValue, fmt.Sprintf("parameter Size: must be between 1 and %d", maxEventSize))
		}
		size = *req.Size
	}
	now := h.now()
	to := now
	if req.EndTime != 0 {
		to = time.Unix(int64(min(req.EndTime, 1<<40)), 0).Add(time.Second - time.Millisecond)
	}
	from := now.Add(-24 * time.Hour)
	if req.StartTime != 0 {
		from = time.Unix(req.StartTime, 0)
	}
	before, seq, err := parseCursor(req.Context)
	if err != nil {
		return nil, err
	}
	evs, total, err := td.EventHistory(ctx, devicedata.EventQuery{
		ProductID: pid, DeviceName: dn, EventID: req.EventId, Type: req.Type, From: from, To: to,
		BeforeTime: before, BeforeSeq: seq, Limit: int(size) + 1,
	})
	if err != nil {
		return nil, err
	}
	out := &listEventHistoryResponse{Total: total, Listover: true, EventHistory: []EventHistoryItem{}}
	if len(evs) > int(size) {
		evs = evs[:size]
		out.Listover = false
		last := evs[len(evs)-1]
		out.Context = formatCursor(last.At, last.Seq)
	}
	for _, e := range evs {
		out.EventHistory = append(out.EventHistory, EventHistoryItem{
			TimeStamp: e.At.Unix(), ProductId: e.ProductID, DeviceName: e.DeviceName,
			EventId: e.EventID, Type: e.Type, Data: string(e.Params),
		})
	}
	return out, nil
}
