// Package devicelog keeps the log lines devices upload over HTTP
// (POST /cgi-bin/report-log, PROTOCOL.md §13.9): per device, in arrival
// order, for a retention period after which they are pruned.
//
// The package declares the Store it needs; internal/store/sqlstore
// implements it for SQLite and PostgreSQL.
package devicelog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

// Defaults of Config.
const (
	DefaultRetention  = 7 * 24 * time.Hour
	DefaultPruneEvery = time.Hour
	// DefaultListLimit and MaxListLimit bound one List page.
	DefaultListLimit = 100
	MaxListLimit     = 1000
	// MaxLinesPerUpload bounds the lines stored from one upload.
	MaxLinesPerUpload = 500
)

// ErrInvalidQuery: a Query without product or device.
var ErrInvalidQuery = errors.New("invalid device log query")

// Entry is one stored log line.
type Entry struct {
	ID         int64 // assigned by the store, increasing in arrival order
	ProductID  string
	DeviceName string
	Received   time.Time // when the platform received the upload
	// DeviceTime is the line's own "YYYY-MM-DD HH:MM:SS" (device local
	// time, kept as text since its zone is unknown); empty when the line
	// does not follow the SDK format.
	DeviceTime string
	Level      string // "ERR", "WRN", "INF", "DBG" or "" (unformatted line)
	Line       string // the whole line as the device sent it, without "\n\f"
}

// Query selects a device's log lines, newest first.
type Query struct {
	ProductID  string
	DeviceName string
	Since      time.Time // zero: no lower bound (received at or after)
	Until      time.Time // zero: no upper bound (received before)
	Offset     int
	Limit      int // 0: DefaultListLimit; capped at MaxListLimit
}

// Store persists log lines.
type Store interface {
	// AppendDeviceLogs stores entries (their ID is ignored).
	AppendDeviceLogs(ctx context.Context, entries []Entry) error
	// ListDeviceLogs returns one page of the device's lines matching q,
	// newest first, and the total count matching q.
	ListDeviceLogs(ctx context.Context, q Query) ([]Entry, int64, error)
	// DeleteDeviceLogsBefore removes lines received before t.
	DeleteDeviceLogsBefore(ctx context.Context, t time.Time) (int64, error)
}

// Config configures a Service. Zero fields take the defaults.
type Config struct {
	Retention  time.Duration
	PruneEvery time.Duration
	Logger     *slog.Logger
	Now        func() time.Time
}

// Service stores and reads device logs; it is safe for concurrent use.
type Service struct {
	store Store
	cfg   Config
	log   *slog.Logger
}

// New returns a Service over store.
func New(store Store, cfg Config) *Service {
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.PruneEvery <= 0 {
		cfg.PruneEvery = DefaultPruneEvery
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, cfg: cfg, log: log}
}

// Append stores the lines of one verified upload of a device. Lines beyond
// MaxLinesPerUpload are dropped (and counted in the log).
func (s *Service) Append(ctx context.Context, productID, deviceName string, lines []protocol.LogLine) error {
	if len(lines) > MaxLinesPerUpload {
		s.log.Warn("device log upload truncated", "product_id", productID, "device_name", deviceName,
			"lines", len(lines), "kept", MaxLinesPerUpload)
		lines = lines[:MaxLinesPerUpload]
	}
	now := s.cfg.Now().UTC().Truncate(time.Millisecond)
	entries := make([]Entry, 0, len(lines))
	for _, l := range lines {
		entries = append(entries, Entry{
			ProductID: productID, DeviceName: deviceName, Received: now,
			DeviceTime: l.Time, Level: l.Level, Line: l.String(),
		})
	}
	if len(entries) == 0 {
		return nil
	}
	if err := s.store.AppendDeviceLogs(ctx, entries); err != nil {
		return fmt.Errorf("append logs of %s/%s: %w", productID, deviceName, err)
	}
	return nil
}

// List returns a page of a device's log lines, newest first, and the total.
func (s *Service) List(ctx context.Context, q Query) ([]Entry, int64, error) {
	if q.ProductID == "" || q.DeviceName == "" {
		return nil, 0, fmt.Errorf("%w: product and device are required", ErrInvalidQuery)
	}
	if q.Offset < 0 {
		return nil, 0, fmt.Errorf("%w: negative offset", ErrInvalidQuery)
	}
	switch {
	case q.Limit <= 0:
		q.Limit = DefaultListLimit
	case q.Limit > MaxListLimit:
		q.Limit = MaxListLimit
	}
	es, total, err := s.store.ListDeviceLogs(ctx, q)
	if err != nil {
		return nil, 0, fmt.Errorf("list logs of %s/%s: %w", q.ProductID, q.DeviceName, err)
	}
	return es, total, nil
}

// Prune deletes the lines older than the retention period.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	n, err := s.store.DeleteDeviceLogsBefore(ctx, s.cfg.Now().Add(-s.cfg.Retention))
	if err != nil {
		return 0, fmt.Errorf("prune device logs: %w", err)
	}
	return n, nil
}

// Run prunes every PruneEvery until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.PruneEvery)
	defer t.Stop()
	for {
		if n, err := s.Prune(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("prune device logs", "err", err)
		} else if n > 0 {
			s.log.Info("pruned device logs", "lines", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
