// Package broadcast sends one message to every online device of a product
// on `$broadcast/rxd/{pid}/{dn}` (PROTOCOL.md §13.10).
//
// A broadcast runs synchronously and reports how many devices it reached.
// Broadcasts are rate-limited per product: one at a time
// (ErrTaskRunning), and the next one no sooner than MinInterval after the
// previous one ended (ErrRateLimited).
package broadcast

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/protocol"
)

// DefaultMinInterval is the default minimum time between two broadcasts of
// a product.
const DefaultMinInterval = time.Second

// pageSize is how many devices are read from the registry at a time.
const pageSize = 500

// Errors.
var (
	// ErrTaskRunning: a broadcast of the product is still being sent.
	ErrTaskRunning = errors.New("broadcast: a broadcast of this product is running")
	// ErrRateLimited: the product's previous broadcast was too recent.
	ErrRateLimited = errors.New("broadcast: too many broadcasts for this product")
)

// Devices lists a product's devices.
type Devices interface {
	ListDevices(ctx context.Context, f registry.DeviceFilter) ([]registry.Device, int64, error)
}

// Publisher sends a message to a device; it returns an error when the device
// is not reached (offline or not subscribed).
type Publisher interface {
	Publish(ctx context.Context, productID, deviceName, topic string, payload []byte, qos byte) error
}

// Config configures a Service.
type Config struct {
	Devices     Devices   // required
	Publisher   Publisher // required
	MinInterval time.Duration
	Logger      *slog.Logger
	Now         func() time.Time
}

// Result is the outcome of a broadcast.
type Result struct {
	TaskID   int64
	Devices  int // devices of the product
	Reached  int // devices the message was delivered (or queued) to
	Duration time.Duration
}

// Service sends broadcasts; it is safe for concurrent use.
type Service struct {
	devices Devices
	pub     Publisher
	min     time.Duration
	log     *slog.Logger
	now     func() time.Time

	mu      sync.Mutex
	running map[string]bool
	last    map[string]time.Time
	taskID  int64
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Devices == nil || cfg.Publisher == nil {
		return nil, errors.New("broadcast: Devices and Publisher are required")
	}
	s := &Service{
		devices: cfg.Devices, pub: cfg.Publisher, min: cfg.MinInterval, log: cfg.Logger, now: cfg.Now,
		running: make(map[string]bool), last: make(map[string]time.Time),
	}
	if s.min <= 0 {
		s.min = DefaultMinInterval
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.taskID = s.now().UnixMilli()
	return s, nil
}

// Publish sends payload at qos to every device of productID that can be
// reached now. The product must exist (registry.ErrProductNotFound
// otherwise, as the Devices source reports it).
func (s *Service) Publish(ctx context.Context, productID string, payload []byte, qos byte) (Result, error) {
	start := s.now()
	s.mu.Lock()
	if s.running[productID] {
		s.mu.Unlock()
		return Result{}, ErrTaskRunning
	}
	if last, ok := s.last[productID]; ok && start.Sub(last) < s.min {
		s.mu.Unlock()
		return Result{}, ErrRateLimited
	}
	s.running[productID] = true
	s.taskID++
	res := Result{TaskID: s.taskID}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, productID)
		s.last[productID] = s.now()
		s.mu.Unlock()
	}()

	for offset := 0; ; offset += pageSize {
		devs, _, err := s.devices.ListDevices(ctx, registry.DeviceFilter{ProductID: productID, Offset: offset, Limit: pageSize})
		if err != nil {
			return res, fmt.Errorf("broadcast to %s: %w", productID, err)
		}
		for _, d := range devs {
			res.Devices++
			topic := protocol.FamilyTopic(protocol.FamilyBroadcast, protocol.Down, productID, d.Name)
			if err := s.pub.Publish(ctx, productID, d.Name, topic, payload, qos); err == nil {
				res.Reached++
			}
		}
		if len(devs) < pageSize {
			break
		}
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("broadcast to %s: %w", productID, err)
		}
	}
	res.Duration = s.now().Sub(start)
	s.log.Info("broadcast sent", "product_id", productID, "task_id", res.TaskID, "devices", res.Devices,
		"reached", res.Reached, "duration", res.Duration)
	return res, nil
}
