// Package shadow serves the device shadow of the IoT Hub SDKs (PROTOCOL.md
// §13.10) on `$shadow/operation/{pid}/{dn}` with answers on
// `$shadow/operation/result/{pid}/{dn}`.
//
// The shadow is a view of the device data, not a second copy: "reported"
// is the device's latest reported property values and "desired" its
// pending control (internal/devicedata), so the thing model protocol, the
// data APIs and the shadow always agree. The version is the time of the
// latest change in milliseconds, so it grows with every update.
//
// Requests: {"type":"get"} and {"type":"update","state":{"reported":{...}}},
// where "desired":null clears the pending control and a "desired" object
// sets it. When desired values differ from the reported ones the platform
// pushes {"type":"delta","payload":{"state":{...},"version":N}} after a get
// or an update, and when a control is set through the management API
// (PushDelta). Products with a thing model get reports and desired values
// validated against it; products without one keep free-form values.
package shadow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/thingmodel"
	"github.com/thingo-iot/thingo/protocol"
)

// Reply results.
const (
	ResultOK       = 0
	ResultBadJSON  = 400 // not JSON, unknown type, state not an object
	ResultInvalid  = 406 // values rejected by the thing model
	ResultInternal = 503
)

// Data is the device data the shadow is a view of.
type Data interface {
	Model(ctx context.Context, productID string) (*thingmodel.Model, error)
	Status(ctx context.Context, productID, deviceName string) (devicedata.Status, error)
	Write(ctx context.Context, b devicedata.Batch) error
}

// Publisher sends a message to a device.
type Publisher interface {
	Publish(ctx context.Context, productID, deviceName, topic string, payload []byte, qos byte) error
}

// Service answers shadow requests; it is safe for concurrent use.
type Service struct {
	data Data
	pub  Publisher
	log  *slog.Logger
	now  func() time.Time
}

// New returns a Service; log and now may be nil.
func New(data Data, pub Publisher, log *slog.Logger, now func() time.Time) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{data: data, pub: pub, log: log, now: now}
}

// State is a device's shadow.
type State struct {
	Reported map[string]json.RawMessage `json:"reported"`
	Desired  map[string]json.RawMessage `json:"desired,omitempty"`
	Version  int64                      `json:"-"`
}

// Delta returns the desired values that differ from the reported ones.
func (s State) Delta() map[string]json.RawMessage {
	d := map[string]json.RawMessage{}
	for k, v := range s.Desired {
		if r, ok := s.Reported[k]; !ok || !jsonEqual(r, v) {
			d[k] = v
		}
	}
	return d
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x) // maps marshal with sorted keys
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// Get returns the device's shadow.
func (s *Service) Get(ctx context.Context, productID, deviceName string) (State, error) {
	st, err := s.data.Status(ctx, productID, deviceName)
	if err != nil {
		return State{}, err
	}
	out := State{Reported: map[string]json.RawMessage{}}
	for _, v := range st.Reported {
		out.Reported[v.ID] = v.Value
		out.Version = max(out.Version, v.UpdatedAt.UnixMilli())
	}
	if st.Control != nil {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(st.Control.Params, &m); err == nil && len(m) > 0 {
			out.Desired = m
		}
		out.Version = max(out.Version, st.Control.UpdatedAt.UnixMilli())
	}
	return out, nil
}

type request struct {
	Type        string          `json:"type"`
	ClientToken json.RawMessage `json:"clientToken"`
	State       *struct {
		Reported json.RawMessage `json:"reported"`
		Desired  json.RawMessage `json:"desired"`
	} `json:"state"`
}

type statePayload struct {
	State   any   `json:"state"`
	Version int64 `json:"version"`
}

type reply struct {
	Type        string          `json:"type"`
	ClientToken json.RawMessage `json:"clientToken,omitempty"`
	Result      int             `json:"result"`
	Timestamp   int64           `json:"timestamp"`
	Payload     *statePayload   `json:"payload,omitempty"`
}

// errInvalid marks values the thing model rejected.
var errInvalid = errors.New("shadow: invalid values")

// HandleUplink answers a request on `$shadow/operation/{pid}/{dn}`.
func (s *Service) HandleUplink(ctx context.Context, t protocol.Topic, payload []byte) {
	if t.Family != protocol.FamilyShadow || t.Direction != protocol.Up {
		return
	}
	pid, dn := t.ProductID, t.DeviceName
	var req request
	if err := json.Unmarshal(payload, &req); err != nil || (req.Type != "get" && req.Type != "update") {
		typ := "error"
		if err == nil && req.Type != "" {
			typ = req.Type
		}
		s.send(ctx, pid, dn, reply{Type: typ, ClientToken: token(req.ClientToken), Result: ResultBadJSON, Timestamp: s.now().Unix()})
		return
	}
	rep := reply{Type: req.Type, ClientToken: token(req.ClientToken), Timestamp: s.now().Unix()}
	if req.Type == "update" {
		if err := s.update(ctx, pid, dn, req); err != nil {
			rep.Result = ResultInternal
			switch {
			case errors.Is(err, errInvalid):
				rep.Result = ResultInvalid
			case errors.Is(err, devicedata.ErrNotObject):
				rep.Result = ResultBadJSON
			default:
				s.log.Warn("shadow update", "product_id", pid, "device_name", dn, "err", err)
			}
			s.send(ctx, pid, dn, rep)
			return
		}
	}
	st, err := s.Get(ctx, pid, dn)
	if err != nil {
		s.log.Warn("shadow get", "product_id", pid, "device_name", dn, "err", err)
		rep.Result = ResultInternal
		s.send(ctx, pid, dn, rep)
		return
	}
	rep.Payload = &statePayload{State: st, Version: st.Version}
	s.send(ctx, pid, dn, rep)
	s.sendDelta(ctx, pid, dn, st)
}

// PushDelta sends the device its delta, if its desired values differ from
// the reported ones. The platform calls it when a control is set through the
// management API (ControlDeviceData), so that a device online and subscribed
// to `$shadow/operation/result/{pid}/{dn}` gets it at once rather than at its
// next get or update. A device that cannot receive it now is not an error:
// it gets the delta with its next get.
func (s *Service) PushDelta(ctx context.Context, productID, deviceName string) {
	st, err := s.Get(ctx, productID, deviceName)
	if err != nil {
		s.log.Warn("shadow delta", "product_id", productID, "device_name", deviceName, "err", err)
		return
	}
	s.sendDelta(ctx, productID, deviceName, st)
}

// sendDelta sends {"type":"delta",...} when st has one.
func (s *Service) sendDelta(ctx context.Context, pid, dn string, st State) {
	d := st.Delta()
	if len(d) == 0 {
		return
	}
	s.send(ctx, pid, dn, struct {
		Type      string       `json:"type"`
		Timestamp int64        `json:"timestamp"`
		Payload   statePayload `json:"payload"`
	}{"delta", s.now().Unix(), statePayload{State: d, Version: st.Version}})
}

// update applies the reported values and the desired change in one batch.
func (s *Service) update(ctx context.Context, pid, dn string, req request) error {
	if req.State == nil {
		return devicedata.ErrNotObject
	}
	model, err := s.data.Model(ctx, pid)
	if err != nil && !errors.Is(err, devicedata.ErrNoModel) {
		return err
	}
	now := s.now()
	var b devicedata.Batch
	if rep := bytes.TrimSpace(req.State.Reported); len(rep) > 0 && string(rep) != "null" {
		if model != nil {
			if err := model.ValidateReport(rep); err != nil {
				return errors.Join(errInvalid, err)
			}
		}
		r, err := devicedata.NewReport(pid, dn, now, rep)
		if err != nil {
			return err
		}
		b.Reports = append(b.Reports, r)
	}
	switch des := bytes.TrimSpace(req.State.Desired); {
	case len(des) == 0:
	case string(des) == "null":
		b.Controls = append(b.Controls, devicedata.ControlChange{ProductID: pid, DeviceName: dn, At: now})
	default:
		var m map[string]json.RawMessage
		if err := json.Unmarshal(des, &m); err != nil || m == nil {
			return devicedata.ErrNotObject
		}
		if model != nil {
			if err := model.ValidateControl(des); err != nil {
				return errors.Join(errInvalid, err)
			}
		}
		b.Controls = append(b.Controls, devicedata.ControlChange{ProductID: pid, DeviceName: dn, Params: m,
			ClientToken: devicedata.NewClientToken("shadow"), At: now})
	}
	if len(b.Reports) == 0 && len(b.Controls) == 0 {
		return nil
	}
	return s.data.Write(ctx, b)
}

func (s *Service) send(ctx context.Context, pid, dn string, msg any) {
	b, err := json.Marshal(msg)
	if err != nil {
		s.log.Error("encode shadow reply", "err", err)
		return
	}
	topic := protocol.FamilyTopic(protocol.FamilyShadow, protocol.Down, pid, dn)
	if err := s.pub.Publish(ctx, pid, dn, topic, b, 0); err != nil {
		s.log.Debug("shadow reply not delivered", "topic", topic, "err", err)
	}
}

// maxTokenLen bounds the echoed clientToken.
const maxTokenLen = 256

func token(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || len(raw) > maxTokenLen {
		return nil
	}
	return raw
}
