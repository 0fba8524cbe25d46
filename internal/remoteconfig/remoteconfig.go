// Package remoteconfig serves remote configuration (PROTOCOL.md §13.10): a
// device asks with {"type":"get"} on `$config/operation/{pid}/{dn}` and gets
// {"type":"reply","result":0,"payload":{...}} on
// `$config/operation/result/{pid}/{dn}`; the platform pushes
// {"type":"push","payload":{...}} when the operator asks for it.
//
// Each product has one configuration; a device may have an override that
// replaces it entirely. A disabled or missing configuration is answered
// with result 1001 and no payload.
package remoteconfig

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/protocol"
)

// Reply results.
const (
	ResultOK       = 0
	ResultDisabled = 1001
)

// MaxPayload is the largest configuration (the per-message limit).
const MaxPayload = 16 * 1024

// Errors.
var (
	// ErrNotFound: no configuration is stored at that level.
	ErrNotFound = errors.New("remote configuration not found")
	// ErrNotObject: the configuration is not a JSON object.
	ErrNotObject = errors.New("remote configuration must be a JSON object")
	// ErrTooLarge: the configuration is larger than MaxPayload.
	ErrTooLarge = errors.New("remote configuration larger than 16 KB")
	// ErrDisabled: the effective configuration is disabled or missing.
	ErrDisabled = errors.New("remote configuration disabled")
)

// Record is a stored configuration. DeviceName is empty for the product's.
type Record struct {
	ProductID  string
	DeviceName string
	Enabled    bool
	Payload    json.RawMessage // JSON object
	UpdatedAt  time.Time
}

// Store keeps configurations.
type Store interface {
	// PutRemoteConfig creates or replaces a configuration; a missing product
	// or device is registry.ErrProductNotFound / registry.ErrDeviceNotFound.
	PutRemoteConfig(ctx context.Context, r Record) error
	// GetRemoteConfig returns the configuration at one level or ErrNotFound.
	GetRemoteConfig(ctx context.Context, productID, deviceName string) (Record, error)
	// DeleteRemoteConfig removes it, or returns ErrNotFound.
	DeleteRemoteConfig(ctx context.Context, productID, deviceName string) error
}

// Devices lists a product's devices (for pushing a product configuration).
type Devices interface {
	ListDevices(ctx context.Context, f registry.DeviceFilter) ([]registry.Device, int64, error)
}

// Publisher sends a message to a device; an error means it was not reached.
type Publisher interface {
	Publish(ctx context.Context, productID, deviceName, topic string, payload []byte, qos byte) error
}

// Config configures a Service.
type Config struct {
	Store     Store     // required
	Devices   Devices   // required
	Publisher Publisher // required
	Logger    *slog.Logger
	Now       func() time.Time
}

// Service manages and serves configurations; it is safe for concurrent use.
type Service struct {
	store   Store
	devices Devices
	pub     Publisher
	log     *slog.Logger
	now     func() time.Time
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Devices == nil || cfg.Publisher == nil {
		return nil, errors.New("remoteconfig: Store, Devices and Publisher are required")
	}
	s := &Service{store: cfg.Store, devices: cfg.Devices, pub: cfg.Publisher, log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Set stores the configuration of a product (deviceName "") or a device
// override.
func (s *Service) Set(ctx context.Context, productID, deviceName string, enabled bool, payload []byte) (Record, error) {
	payload = bytes.TrimSpace(payload)
	if len(payload) > MaxPayload {
		return Record{}, ErrTooLarge
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(payload, &obj); err != nil || obj == nil {
		return Record{}, ErrNotObject
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, payload); err != nil {
		return Record{}, ErrNotObject
	}
	r := Record{ProductID: productID, DeviceName: deviceName, Enabled: enabled, Payload: buf.Bytes(),
		UpdatedAt: s.now().UTC().Truncate(time.Millisecond)}
	if err := s.store.PutRemoteConfig(ctx, r); err != nil {
		return Record{}, fmt.Errorf("set remote config: %w", err)
	}
	return r, nil
}

// Get returns the configuration stored at one level, or ErrNotFound.
func (s *Service) Get(ctx context.Context, productID, deviceName string) (Record, error) {
	return s.store.GetRemoteConfig(ctx, productID, deviceName)
}

// Delete removes the configuration at one level.
func (s *Service) Delete(ctx context.Context, productID, deviceName string) error {
	return s.store.DeleteRemoteConfig(ctx, productID, deviceName)
}

// Effective returns the configuration that applies to a device: its
// override, else the product's. ErrDisabled when none or disabled.
func (s *Service) Effective(ctx context.Context, productID, deviceName string) (Record, error) {
	r, err := s.store.GetRemoteConfig(ctx, productID, deviceName)
	if errors.Is(err, ErrNotFound) {
		r, err = s.store.GetRemoteConfig(ctx, productID, "")
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return Record{}, ErrDisabled
	case err != nil:
		return Record{}, err
	case !r.Enabled:
		return Record{}, ErrDisabled
	}
	return r, nil
}

type message struct {
	Type    string          `json:"type"`
	Result  *int            `json:"result,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Push sends the effective configuration to a device (deviceName set) or
// to every reachable device of the product (deviceName ""), and returns how
// many devices it reached. Devices whose effective configuration is
// disabled are skipped.
func (s *Service) Push(ctx context.Context, productID, deviceName string) (int, error) {
	if deviceName != "" {
		ok, err := s.pushOne(ctx, productID, deviceName)
		if err != nil || !ok {
			return 0, err
		}
		return 1, nil
	}
	const page = 500
	reached := 0
	for offset := 0; ; offset += page {
		devs, _, err := s.devices.ListDevices(ctx, registry.DeviceFilter{ProductID: productID, Offset: offset, Limit: page})
		if err != nil {
			return reached, fmt.Errorf("push remote config: %w", err)
		}
		for _, d := range devs {
			ok, err := s.pushOne(ctx, productID, d.Name)
			if err != nil && !errors.Is(err, ErrDisabled) {
				return reached, err
			}
			if ok {
				reached++
			}
		}
		if len(devs) < page {
			return reached, nil
		}
	}
}

// pushOne reports whether the device was reached.
func (s *Service) pushOne(ctx context.Context, productID, deviceName string) (bool, error) {
	r, err := s.Effective(ctx, productID, deviceName)
	if err != nil {
		return false, err
	}
	b, err := json.Marshal(message{Type: "push", Payload: r.Payload})
	if err != nil {
		return false, fmt.Errorf("encode remote config: %w", err)
	}
	topic := protocol.FamilyTopic(protocol.FamilyConfig, protocol.Down, productID, deviceName)
	if err := s.pub.Publish(ctx, productID, deviceName, topic, b, 0); err != nil {
		s.log.Debug("remote config not pushed", "product_id", productID, "device_name", deviceName, "err", err)
		return false, nil
	}
	return true, nil
}

// HandleUplink answers {"type":"get"} on `$config/operation/{pid}/{dn}`;
// anything else is ignored.
func (s *Service) HandleUplink(ctx context.Context, t protocol.Topic, payload []byte) {
	if t.Family != protocol.FamilyConfig || t.Direction != protocol.Up {
		return
	}
	var req struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(payload, &req); err != nil || req.Type != "get" {
		s.log.Debug("$config request ignored", "product_id", t.ProductID, "device_name", t.DeviceName)
		return
	}
	reply := message{Type: "reply"}
	r, err := s.Effective(ctx, t.ProductID, t.DeviceName)
	result := ResultOK
	switch {
	case errors.Is(err, ErrDisabled):
		result = ResultDisabled
	case err != nil:
		s.log.Warn("remote config", "product_id", t.ProductID, "device_name", t.DeviceName, "err", err)
		return
	default:
		reply.Payload = r.Payload
	}
	reply.Result = &result
	b, err := json.Marshal(reply)
	if err != nil {
		return
	}
	topic := protocol.FamilyTopic(protocol.FamilyConfig, protocol.Down, t.ProductID, t.DeviceName)
	if err := s.pub.Publish(ctx, t.ProductID, t.DeviceName, topic, b, 0); err != nil {
		s.log.Debug("remote config reply not delivered", "topic", topic, "err", err)
	}
}
