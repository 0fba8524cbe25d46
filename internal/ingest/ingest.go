// Package ingest dispatches device messages on platform topics to the
// domain: the thing model protocol on $thing/up/... (PROTOCOL.md §5, §13.5),
// time on $sys/operation (§13.8) and the log level on $log/operation
// (§13.9). It implements broker.Handler and answers on the matching
// down/result topic through a Publisher.
//
// Products without a thing model: messages that need the model (report,
// event_post, events_post) are answered with code 403 and a status saying
// the product has no thing model; the others (get_status, clear_control,
// report_info, control_reply, action_reply, app_bind_token) work without one.
package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/thingmodel"
	"github.com/thingo-iot/thingo/protocol"
)

// Reply codes (PROTOCOL.md §5.8).
const (
	CodeOK           = 0
	CodeBadJSON      = 400
	CodeNotInModel   = 403
	CodeBadTimestamp = 405
	CodeBadValue     = 406
	CodeInternal     = 503
)

// DefaultLogLevel is the device log level answered when none is set.
const DefaultLogLevel = 1

// maxClockSkew is how far a message timestamp may be from now (405 beyond).
const maxClockSkew = 24 * time.Hour

// Publisher sends a message to a device.
type Publisher interface {
	Publish(ctx context.Context, productID, deviceName, topic string, payload []byte, qos byte) error
}

// Data is the device data domain the handler feeds.
type Data interface {
	Model(ctx context.Context, productID string) (*thingmodel.Model, error)
	Enqueue(ctx context.Context, b devicedata.Batch, done func(error)) error
	Status(ctx context.Context, productID, deviceName string) (devicedata.Status, error)
	ActionReply(ctx context.Context, productID, deviceName string, r devicedata.ActionResult) error
}

// LogLevels returns a device's log level setting (0 off ... 4 debug), or 0
// when unset.
type LogLevels interface {
	LogLevel(ctx context.Context, productID, deviceName string) (int, error)
}

// Config configures a Handler.
type Config struct {
	Data      Data      // required
	Publisher Publisher // required
	LogLevels LogLevels // nil: every device gets DefaultLogLevel
	Logger    *slog.Logger
	Now       func() time.Time
}

// Handler dispatches uplinks; it is safe for concurrent use.
type Handler struct {
	data   Data
	pub    Publisher
	levels LogLevels
	log    *slog.Logger
	now    func() time.Time
}

// New returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Data == nil || cfg.Publisher == nil {
		return nil, errors.New("ingest: Data and Publisher are required")
	}
	h := &Handler{data: cfg.Data, pub: cfg.Publisher, levels: cfg.LogLevels, log: cfg.Logger, now: cfg.Now}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// HandleUplink implements broker.Handler. The topic's product and device
// are the ones the message is about (a gateway may publish for a
// sub-device; the broker's ACL already allowed it).
func (h *Handler) HandleUplink(ctx context.Context, id devauth.Identity, topic string, payload []byte) {
	t, err := protocol.ParseTopic(topic)
	if err != nil || t.Direction != protocol.Up {
		return
	}
	switch t.Family {
	case protocol.FamilyThing:
		h.handleThing(ctx, t, payload)
	case protocol.FamilySys:
		h.handleSys(ctx, t, payload)
	case protocol.FamilyLog:
		h.handleLog(ctx, t, payload)
	default:
		h.log.Debug("uplink not handled", "client_id", id.ClientID, "topic", topic)
	}
}

// send publishes a reply at QoS0; failures are only logged, as the device
// may be gone already.
func (h *Handler) send(ctx context.Context, pid, dn, topic string, msg any) {
	b, err := json.Marshal(msg)
	if err != nil {
		h.log.Error("encode reply", "topic", topic, "err", err)
		return
	}
	if err := h.pub.Publish(ctx, pid, dn, topic, b, 0); err != nil {
		h.log.Debug("reply not delivered", "topic", topic, "err", err)
	}
}

func (h *Handler) handleSys(ctx context.Context, t protocol.Topic, payload []byte) {
	recv := h.now()
	var req struct {
		Type     string   `json:"type"`
		Resource []string `json:"resource"`
	}
	if err := json.Unmarshal(payload, &req); err != nil || req.Type != "get" {
		h.log.Debug("$sys request ignored", "product_id", t.ProductID, "device_name", t.DeviceName)
		return
	}
	sent := h.now()
	h.send(ctx, t.ProductID, t.DeviceName, protocol.FamilyTopic(protocol.FamilySys, protocol.Down, t.ProductID, t.DeviceName),
		struct {
			Type     string `json:"type"`
			Time     int64  `json:"time"`
			NTPTime1 int64  `json:"ntptime1"`
			NTPTime2 int64  `json:"ntptime2"`
		}{"get", sent.Unix(), recv.UnixMilli(), sent.UnixMilli()})
}

func (h *Handler) handleLog(ctx context.Context, t protocol.Topic, payload []byte) {
	var req struct {
		Type        string          `json:"type"`
		ClientToken json.RawMessage `json:"clientToken"`
	}
	if err := json.Unmarshal(payload, &req); err != nil || req.Type != "get_log_level" {
		h.log.Debug("$log request ignored", "product_id", t.ProductID, "device_name", t.DeviceName)
		return
	}
	level, code := DefaultLogLevel, CodeOK
	if h.levels != nil {
		l, err := h.levels.LogLevel(ctx, t.ProductID, t.DeviceName)
		switch {
		case err != nil:
			h.log.Warn("device log level", "product_id", t.ProductID, "device_name", t.DeviceName, "err", err)
			code = CodeInternal
		case l > 0:
			level = l
		}
	}
	h.send(ctx, t.ProductID, t.DeviceName, protocol.FamilyTopic(protocol.FamilyLog, protocol.Down, t.ProductID, t.DeviceName),
		struct {
			Type        string          `json:"type"`
			ClientToken json.RawMessage `json:"clientToken"`
			Code        int             `json:"code"`
			LogLevel    int             `json:"log_level"`
		}{"get_log_level", token(req.ClientToken), code, level})
}

// maxTokenLen bounds the echoed clientToken, keeping replies small.
const maxTokenLen = 256

// token returns the clientToken to echo: the request's value as sent, or ""
// when absent or longer than maxTokenLen.
func token(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || len(raw) > maxTokenLen {
		return json.RawMessage(`""`)
	}
	return raw
}

// tokenString returns the clientToken as a string (numbers as written).
func tokenString(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

// msgTime converts a message timestamp: 0 or absent is now; values below
// 1e11 are seconds, larger ones milliseconds. ok is false when the time is
// more than 24 h away from now.
func msgTime(ts json.Number, now time.Time) (time.Time, bool) {
	if ts == "" {
		return now, true
	}
	f, err := ts.Float64()
	if err != nil || f < 0 {
		return time.Time{}, false
	}
	if f == 0 {
		return now, true
	}
	var at time.Time
	if f < 1e11 {
		at = time.UnixMilli(int64(f * 1000))
	} else {
		at = time.UnixMilli(int64(f))
	}
	if d := at.Sub(now); d > maxClockSkew || d < -maxClockSkew {
		return time.Time{}, false
	}
	return at, true
}
