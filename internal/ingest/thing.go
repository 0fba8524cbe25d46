package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/thingmodel"
	"github.com/thingo-iot/thingo/protocol"
)

// thingMsg is the union of the $thing/up messages' fields.
type thingMsg struct {
	Method      string          `json:"method"`
	ClientToken json.RawMessage `json:"clientToken"`
	Timestamp   json.Number     `json:"timestamp"`
	Params      json.RawMessage `json:"params"`
	Code        *json.Number    `json:"code"`
	Status      string          `json:"status"`
	Type        string          `json:"type"`
	EventID     string          `json:"eventId"`
	Events      []eventItem     `json:"events"`
	Response    json.RawMessage `json:"response"`
	ShowMeta    json.RawMessage `json:"showmeta"`
}

type eventItem struct {
	EventID   string          `json:"eventId"`
	Type      string          `json:"type"`
	Timestamp json.Number     `json:"timestamp"`
	Params    json.RawMessage `json:"params"`
}

// reply is the common reply shape: method, clientToken, integer code, status.
type reply struct {
	Method      string          `json:"method"`
	ClientToken json.RawMessage `json:"clientToken"`
	Code        int             `json:"code"`
	Status      string          `json:"status"`
	Type        string          `json:"type,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// maxStatus bounds a reply's status text so replies stay well under 2 KB.
const maxStatus = 512

func statusOf(err error) string {
	s := err.Error()
	if len(s) > maxStatus {
		s = s[:maxStatus]
	}
	return s
}

// thingReq is one message being handled.
type thingReq struct {
	t   protocol.Topic
	msg thingMsg
}

func (h *Handler) reply(ctx context.Context, r thingReq, method string, code int, status string, data json.RawMessage) {
	h.send(ctx, r.t.ProductID, r.t.DeviceName, protocol.ThingDown(r.t.Kind, r.t.ProductID, r.t.DeviceName), reply{
		Method: method, ClientToken: token(r.msg.ClientToken), Code: code, Status: status, Data: data,
	})
}

// afterCommit queues b and sends the reply once it is committed (503 when
// the write failed).
func (h *Handler) afterCommit(ctx context.Context, r thingReq, b devicedata.Batch, method, okStatus string, data json.RawMessage) {
	err := h.data.Enqueue(ctx, b, func(err error) {
		if err != nil {
			h.log.Error("write device data", "product_id", r.t.ProductID, "device_name", r.t.DeviceName, "err", err)
			h.reply(ctx, r, method, CodeInternal, "internal error", data)
			return
		}
		h.reply(ctx, r, method, CodeOK, okStatus, data)
	})
	if err != nil {
		h.log.Warn("device data not queued", "product_id", r.t.ProductID, "device_name", r.t.DeviceName, "err", err)
		h.reply(ctx, r, method, CodeInternal, "server is stopping", data)
	}
}

var emptyData = json.RawMessage(`{}`)

func (h *Handler) handleThing(ctx context.Context, t protocol.Topic, payload []byte) {
	if t.Kind == protocol.KindRaw {
		h.raw(ctx, t, payload) // opaque: never parsed
		return
	}
	r := thingReq{t: t}
	if err := json.Unmarshal(payload, &r.msg); err != nil {
		switch t.Kind {
		case protocol.KindProperty:
			h.reply(ctx, r, "report_reply", CodeBadJSON, "payload is not valid JSON", nil)
		case protocol.KindEvent:
			h.reply(ctx, r, "event_reply", CodeBadJSON, "payload is not valid JSON", emptyData)
		}
		return
	}
	m := r.msg.Method
	switch {
	case m == "" && r.msg.Code != nil && t.Kind == protocol.KindProperty:
		h.controlReply(ctx, r) // Python's control_reply has no method
	case m == "report" && t.Kind == protocol.KindProperty:
		h.report(ctx, r)
	case m == "control_reply" && t.Kind == protocol.KindProperty:
		h.controlReply(ctx, r)
	case m == "get_status" && t.Kind == protocol.KindProperty:
		h.getStatus(ctx, r)
	case m == "clear_control" && t.Kind == protocol.KindProperty:
		h.afterCommit(ctx, r, devicedata.Batch{Controls: []devicedata.ControlChange{{
			ProductID: t.ProductID, DeviceName: t.DeviceName, At: h.now(),
		}}}, "clear_control_reply", "success", nil)
	case m == "report_info" && t.Kind == protocol.KindProperty:
		h.reportInfo(ctx, r)
	case (m == "event_post" || m == "events_post") && t.Kind == protocol.KindEvent:
		h.events(ctx, r)
	case m == "action_reply" && t.Kind == protocol.KindAction:
		h.actionReply(ctx, r)
	case m == "app_bind_token" && t.Kind == protocol.KindService:
		h.log.Info("app bind token", "product_id", t.ProductID, "device_name", t.DeviceName)
		h.reply(ctx, r, "app_bind_token_reply", CodeOK, "success", nil)
	case m == "alert_fence_event_reply" && t.Kind == protocol.KindService:
		h.serviceReply(ctx, r)
	case strings.HasSuffix(m, "_reply"):
		// Replies to platform messages (e.g. alert_fence_event_reply): nothing
		// to answer.
		h.log.Debug("device reply", "method", m, "product_id", t.ProductID, "device_name", t.DeviceName)
	default:
		method := "reply"
		if m != "" {
			method = m + "_reply"
		}
		h.reply(ctx, r, method, CodeNotInModel, "unknown method "+strconvQuote(m)+" on "+t.Kind, nil)
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// model returns the product's model, or answers 403/503 and returns nil.
func (h *Handler) model(ctx context.Context, r thingReq, method string, data json.RawMessage) *thingmodel.Model {
	m, err := h.data.Model(ctx, r.t.ProductID)
	switch {
	case err == nil:
		return m
	case errors.Is(err, devicedata.ErrNoModel):
		h.reply(ctx, r, method, CodeNotInModel, "product "+r.t.ProductID+" has no thing model", data)
	default:
		h.log.Error("thing model", "product_id", r.t.ProductID, "err", err)
		h.reply(ctx, r, method, CodeInternal, "internal error", data)
	}
	return nil
}

func (h *Handler) report(ctx context.Context, r thingReq) {
	const method = "report_reply"
	at, ok := msgTime(r.msg.Timestamp, h.now())
	if !ok {
		h.reply(ctx, r, method, CodeBadTimestamp, "timestamp differs from server time by more than 24h", nil)
		return
	}
	m := h.model(ctx, r, method, nil)
	if m == nil {
		return
	}
	if err := m.ValidateReport(r.msg.Params); err != nil {
		h.reply(ctx, r, method, thingmodel.ProtocolCode(err), statusOf(err), nil)
		return
	}
	rep, err := devicedata.NewReport(r.t.ProductID, r.t.DeviceName, at, r.msg.Params)
	if err != nil {
		h.reply(ctx, r, method, CodeBadValue, "params must be an object", nil)
		return
	}
	if len(rep.Values) == 0 {
		h.reply(ctx, r, method, CodeOK, "success", nil)
		return
	}
	h.afterCommit(ctx, r, devicedata.Batch{Reports: []devicedata.Report{rep}}, method, "success", nil)
}

func (h *Handler) controlReply(ctx context.Context, r thingReq) {
	code, err := r.msg.Code.Int64()
	if err != nil || code != 0 {
		h.log.Info("control refused by device", "product_id", r.t.ProductID, "device_name", r.t.DeviceName,
			"code", r.msg.Code.String(), "status", r.msg.Status)
		return
	}
	tok := tokenString(r.msg.ClientToken)
	if tok == "" {
		return
	}
	// The device applied the control: it is no longer pending (only if it
	// is still the same control).
	err = h.data.Enqueue(ctx, devicedata.Batch{Controls: []devicedata.ControlChange{{
		ProductID: r.t.ProductID, DeviceName: r.t.DeviceName, ClientToken: tok, At: h.now(),
	}}}, func(err error) {
		if err != nil {
			h.log.Error("drop acknowledged control", "product_id", r.t.ProductID, "device_name", r.t.DeviceName, "err", err)
		}
	})
	if err != nil {
		h.log.Warn("drop acknowledged control", "err", err)
	}
}

// getStatus answers with the latest reported values and the pending
// control. It goes through the write queue first, so that reports the
// device sent before are visible.
func (h *Handler) getStatus(ctx context.Context, r thingReq) {
	const method = "get_status_reply"
	typ := r.msg.Type
	if typ == "" {
		typ = "report"
	}
	answer := func() {
		st, err := h.data.Status(ctx, r.t.ProductID, r.t.DeviceName)
		if err != nil {
			h.log.Error("device status", "product_id", r.t.ProductID, "device_name", r.t.DeviceName, "err", err)
			h.reply(ctx, r, method, CodeInternal, "internal error", nil)
			return
		}
		reported := make(map[string]json.RawMessage, len(st.Reported))
		for _, v := range st.Reported {
			reported[v.ID] = v.Value
		}
		data := struct {
			Reported map[string]json.RawMessage `json:"reported"`
			Control  json.RawMessage            `json:"control,omitempty"`
			Metadata json.RawMessage            `json:"metadata,omitempty"`
		}{Reported: reported}
		if showMeta(r.msg.ShowMeta) {
			data.Metadata = statusMetadata(st.Reported)
		}
		if st.Control != nil && len(st.Control.Params) > 2 {
			data.Control = st.Control.Params
		}
		b, err := json.Marshal(data)
		if err != nil {
			h.reply(ctx, r, method, CodeInternal, "internal error", nil)
			return
		}
		h.send(ctx, r.t.ProductID, r.t.DeviceName, protocol.ThingDown(r.t.Kind, r.t.ProductID, r.t.DeviceName), reply{
			Method: method, ClientToken: token(r.msg.ClientToken), Code: CodeOK, Status: "success", Type: typ, Data: b,
		})
	}
	if err := h.data.Enqueue(ctx, devicedata.Batch{}, func(error) { go answer() }); err != nil {
		answer()
	}
}

func (h *Handler) reportInfo(ctx context.Context, r thingReq) {
	const method = "report_info_reply"
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(r.msg.Params, &obj); err != nil || obj == nil {
		h.reply(ctx, r, method, CodeBadValue, "params must be an object", nil)
		return
	}
	h.afterCommit(ctx, r, devicedata.Batch{Infos: []devicedata.Info{{
		ProductID: r.t.ProductID, DeviceName: r.t.DeviceName, Info: r.msg.Params, At: h.now(),
	}}}, method, "success", nil)
}

// events handles event_post (C: top-level eventId/type/timestamp/params;
// Python: an events array) and events_post (events array).
func (h *Handler) events(ctx context.Context, r thingReq) {
	method := "event_reply"
	if r.msg.Method == "events_post" {
		method = "events_reply"
	}
	items := r.msg.Events
	if len(items) == 0 && r.msg.Method == "event_post" {
		items = []eventItem{{EventID: r.msg.EventID, Type: r.msg.Type, Timestamp: r.msg.Timestamp, Params: r.msg.Params}}
	}
	if len(items) == 0 {
		h.reply(ctx, r, method, CodeBadValue, "no events", emptyData)
		return
	}
	m := h.model(ctx, r, method, emptyData)
	if m == nil {
		return
	}
	now := h.now()
	recs := make([]devicedata.EventRecord, 0, len(items))
	for _, it := range items {
		at, ok := msgTime(it.Timestamp, now)
		if !ok {
			h.reply(ctx, r, method, CodeBadTimestamp, it.EventID+": timestamp differs from server time by more than 24h", emptyData)
			return
		}
		if err := m.ValidateEvent(it.EventID, it.Type, it.Params); err != nil {
			h.reply(ctx, r, method, thingmodel.ProtocolCode(err), statusOf(err), emptyData)
			return
		}
		recs = append(recs, devicedata.EventRecord{
			ProductID: r.t.ProductID, DeviceName: r.t.DeviceName, EventID: it.EventID, Type: it.Type,
			At: at, Params: it.Params,
		})
	}
	h.afterCommit(ctx, r, devicedata.Batch{Events: recs}, method, "", emptyData)
}

func (h *Handler) actionReply(ctx context.Context, r thingReq) {
	res := devicedata.ActionResult{ClientToken: tokenString(r.msg.ClientToken), Status: r.msg.Status, Output: r.msg.Response}
	if r.msg.Code != nil {
		if c, err := r.msg.Code.Int64(); err == nil {
			res.Code = int(c)
		}
	}
	if err := h.data.ActionReply(ctx, r.t.ProductID, r.t.DeviceName, res); err != nil {
		h.log.Info("action reply", "product_id", r.t.ProductID, "device_name", r.t.DeviceName,
			"client_token", res.ClientToken, "err", err)
	}
}
