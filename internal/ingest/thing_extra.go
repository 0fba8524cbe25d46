package ingest

import (
	"context"
	"encoding/json"

	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/protocol"
)

// RawData takes opaque $thing/up/raw payloads; a Data that implements it
// gets them (devicedata.Service does).
type RawData interface {
	RawUplink(ctx context.Context, productID, deviceName string, payload []byte, done func(error)) error
}

// CallReplies records device replies to platform calls such as
// alert_fence_event; a Data that implements it gets them.
type CallReplies interface {
	DeviceReply(ctx context.Context, r devicedata.CallReply) error
}

// raw hands a $thing/up/raw payload, never parsed, to the data domain.
// There is no reply on the raw topic.
func (h *Handler) raw(ctx context.Context, t protocol.Topic, payload []byte) {
	rd, ok := h.data.(RawData)
	if !ok {
		h.log.Debug("raw uplink dropped", "product_id", t.ProductID, "device_name", t.DeviceName)
		return
	}
	err := rd.RawUplink(ctx, t.ProductID, t.DeviceName, payload, func(err error) {
		if err != nil {
			h.log.Error("store raw uplink", "product_id", t.ProductID, "device_name", t.DeviceName, "err", err)
		}
	})
	if err != nil {
		h.log.Warn("raw uplink not stored", "product_id", t.ProductID, "device_name", t.DeviceName, "err", err)
	}
}

// serviceReply records a device's reply to a platform service message
// (alert_fence_event_reply), correlated by clientToken.
func (h *Handler) serviceReply(ctx context.Context, r thingReq) {
	cr, ok := h.data.(CallReplies)
	tok := tokenString(r.msg.ClientToken)
	if !ok || tok == "" {
		return
	}
	rep := devicedata.CallReply{
		ProductID: r.t.ProductID, DeviceName: r.t.DeviceName, ClientToken: tok, Status: r.msg.Status, At: h.now(),
	}
	if r.msg.Code != nil {
		if c, err := r.msg.Code.Int64(); err == nil {
			rep.Code = int(c)
		}
	}
	if err := cr.DeviceReply(ctx, rep); err != nil {
		h.log.Warn("device reply not recorded", "method", r.msg.Method, "product_id", r.t.ProductID,
			"device_name", r.t.DeviceName, "err", err)
	}
}

// showMeta reports whether a get_status asked for metadata: showmeta 1
// (also "1" or true).
func showMeta(raw json.RawMessage) bool {
	switch string(raw) {
	case "1", `"1"`, "true":
		return true
	}
	return false
}

// propertyMeta is the metadata of one reported property in a get_status
// reply with showmeta 1: when its latest value was reported (unix ms).
type propertyMeta struct {
	LastUpdate int64 `json:"lastUpdate"`
}

// statusMetadata builds data.metadata of a get_status reply:
// {"reported":{"<id>":{"lastUpdate":<unix ms>}}}.
func statusMetadata(vals []devicedata.PropertyValue) json.RawMessage {
	reported := make(map[string]propertyMeta, len(vals))
	for _, v := range vals {
		reported[v.ID] = propertyMeta{LastUpdate: v.UpdatedAt.UnixMilli()}
	}
	b, err := json.Marshal(struct {
		Reported map[string]propertyMeta `json:"reported"`
	}{reported})
	if err != nil {
		return nil
	}
	return b
}
