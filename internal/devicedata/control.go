package devicedata

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/thingo-iot/thingo/internal/thingmodel"
	"github.com/thingo-iot/thingo/protocol"
)

// ErrNotObject: params that must be a JSON object are not one.
var ErrNotObject = errors.New("params must be a JSON object")

// ControlResult says whether a control reached the device.
type ControlResult struct {
	ClientToken string
	Sent        bool // the device was online and subscribed
}

// NewClientToken returns a random client token with the given prefix.
func NewClientToken(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// objectParams decodes a JSON object of params.
func objectParams(data []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		return nil, ErrNotObject
	}
	return m, nil
}

// Control validates data against the product's model (writable properties
// only), keeps it as the device's pending control and sends it on
// $thing/down/property. An offline device is not an error: Sent is false and
// the device gets the values with get_status.
func (s *Service) Control(ctx context.Context, productID, deviceName string, data []byte) (ControlResult, error) {
	m, err := s.Model(ctx, productID)
	if err != nil {
		return ControlResult{}, err
	}
	params, err := objectParams(data)
	if err != nil {
		return ControlResult{}, err
	}
	if err := m.ValidateControl(data); err != nil {
		return ControlResult{}, err
	}
	token := NewClientToken("ctl")
	if err := s.Write(ctx, Batch{Controls: []ControlChange{{
		ProductID: productID, DeviceName: deviceName, Params: params, ClientToken: token, At: s.now(),
	}}}); err != nil {
		return ControlResult{}, fmt.Errorf("store control: %w", err)
	}
	if s.onControl != nil {
		s.onControl(ctx, productID, deviceName)
	}
	payload, err := json.Marshal(struct {
		Method      string          `json:"method"`
		ClientToken string          `json:"clientToken"`
		Params      json.RawMessage `json:"params"`
	}{"control", token, compact(data)})
	if err != nil {
		return ControlResult{}, fmt.Errorf("encode control: %w", err)
	}
	err = s.pub.Publish(ctx, productID, deviceName, protocol.ThingDown(protocol.KindProperty, productID, deviceName), payload, 0)
	switch {
	case err == nil:
		return ControlResult{ClientToken: token, Sent: true}, nil
	case errors.Is(err, ErrDeviceOffline):
		return ControlResult{ClientToken: token}, nil
	default:
		return ControlResult{}, fmt.Errorf("send control: %w", err)
	}
}

// ReportAsCloud stores data as if the device had reported it at at (zero:
// now), after validating it like a device report.
func (s *Service) ReportAsCloud(ctx context.Context, productID, deviceName string, data []byte, at time.Time) error {
	m, err := s.Model(ctx, productID)
	if err != nil {
		return err
	}
	if _, err := objectParams(data); err != nil {
		return err
	}
	if err := m.ValidateReport(data); err != nil {
		return err
	}
	if at.IsZero() {
		at = s.now()
	}
	r, err := NewReport(productID, deviceName, at, data)
	if err != nil {
		return err
	}
	return s.Write(ctx, Batch{Reports: []Report{r}})
}

func compact(b []byte) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return json.RawMessage(b)
	}
	return buf.Bytes()
}

// IsValueError reports whether err is a thing-model validation error.
func IsValueError(err error) bool {
	var ve *thingmodel.ValueError
	return errors.As(err, &ve)
}
