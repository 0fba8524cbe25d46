package devicedata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/thingo-iot/thingo/internal/thingmodel"
)

// DefaultRetention is how long property and event history is kept.
const DefaultRetention = 30 * 24 * time.Hour

// Publisher sends a platform message to a device. It returns an error
// wrapping ErrDeviceOffline when the device cannot receive it now.
type Publisher interface {
	Publish(ctx context.Context, productID, deviceName, topic string, payload []byte, qos byte) error
}

// Config configures a Service.
type Config struct {
	Store     Store     // required
	Publisher Publisher // nil: every device is offline
	Logger    *slog.Logger
	Now       func() time.Time
	// Retention of history; 0 means DefaultRetention, negative keeps forever.
	Retention time.Duration
	// BatchDelay and BatchItems tune the group commit: BatchDelay is how
	// long a batch waits for more writes (0: none, commit as soon as the
	// writer is free), BatchItems its size cap (0: DefaultBatchItems).
	BatchDelay time.Duration
	BatchItems int
	// CompactInterval and CompactRows tune the compaction of staged
	// reports (Store.CompactReports), which the group-commit writer runs
	// between batches: when CompactInterval (0: DefaultCompactInterval) has
	// passed since the last compaction and reports were written since, or
	// as soon as more than CompactRows (0: DefaultCompactRows) were. Run
	// compacts what is left when it stops.
	CompactInterval time.Duration
	CompactRows     int
	// ActionTimeout bounds CallAction with wait (0: 5 s).
	ActionTimeout time.Duration
	// ControlObserver, if set, is called by Control after it has stored a
	// pending control, so that other device protocols (the shadow's delta)
	// can push it too. It runs on the caller's goroutine.
	ControlObserver func(ctx context.Context, productID, deviceName string)
	// RawPublisher gets every raw uplink (nil: none).
	RawPublisher RawPublisher
	// RawKeep is how many raw uplinks are kept per device (0: DefaultRawKeep).
	RawKeep int
}

// Service owns thing models and device data. Run must be running for
// writes to complete.
type Service struct {
	store     Store
	pub       Publisher
	log       *slog.Logger
	now       func() time.Time
	retention time.Duration
	actionTTL time.Duration
	onControl func(ctx context.Context, productID, deviceName string)
	w         *writer
	recs      RecordStore // nil when Store is not one
	rawPub    RawPublisher

	mu     sync.Mutex
	models map[string]cachedModel // by product id
	calls  map[callKey]*call
	relay  ActionRelay // nil on a single node; see SetRelay
	seq    uint64
}

type cachedModel struct {
	m   *thingmodel.Model // nil: the product has no model
	rec ModelRecord
}

// NewService returns a Service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("devicedata: Store is required")
	}
	s := &Service{
		store: cfg.Store, pub: cfg.Publisher, log: cfg.Logger, now: cfg.Now,
		retention: cfg.Retention, actionTTL: cfg.ActionTimeout, onControl: cfg.ControlObserver,
		models: map[string]cachedModel{}, calls: map[callKey]*call{}, rawPub: cfg.RawPublisher,
	}
	s.recs, _ = cfg.Store.(RecordStore)
	if s.pub == nil {
		s.pub = offline{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.retention == 0 {
		s.retention = DefaultRetention
	}
	if s.actionTTL <= 0 {
		s.actionTTL = 5 * time.Second
	}
	delay, items := cfg.BatchDelay, cfg.BatchItems
	if delay < 0 {
		delay = DefaultBatchDelay
	}
	if items <= 0 {
		items = DefaultBatchItems
	}
	s.w = newWriter(cfg.Store, delay, items)
	s.w.recs, s.w.keep, s.w.log = s.recs, cfg.RawKeep, s.log
	if cfg.CompactInterval > 0 {
		s.w.compaction.every = cfg.CompactInterval
	}
	if cfg.CompactRows > 0 {
		s.w.compaction.rows = cfg.CompactRows
	}
	if s.w.keep <= 0 {
		s.w.keep = DefaultRawKeep
	}
	return s, nil
}

// Run group-commits writes, compacts staged reports and enforces retention
// until ctx ends; then it commits the writes still queued, compacts what is
// staged and returns.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if s.retention > 0 {
		wg.Go(func() { s.retain(ctx) })
	}
	s.w.run(ctx)
	wg.Wait()
}

func (s *Service) retain(ctx context.Context) {
	every := min(time.Hour, s.retention/4)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.PruneHistory(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PruneHistory deletes history older than the retention period.
func (s *Service) PruneHistory(ctx context.Context) {
	if s.retention <= 0 {
		return
	}
	before := s.now().Add(-s.retention)
	n, err := s.store.DeleteHistoryBefore(ctx, before)
	if err == nil && s.recs != nil {
		var m int64
		m, err = s.recs.DeleteRecordsBefore(ctx, before)
		n += m
	}
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.Error("prune device history", "err", err)
	case n > 0:
		s.log.Info("pruned device history", "rows", n)
	}
}

// Model returns the product's compiled thing model (cached), or ErrNoModel.
func (s *Service) Model(ctx context.Context, productID string) (*thingmodel.Model, error) {
	c, err := s.cached(ctx, productID)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		return nil, fmt.Errorf("product %s: %w", productID, ErrNoModel)
	}
	return c.m, nil
}

func (s *Service) cached(ctx context.Context, productID string) (cachedModel, error) {
	s.mu.Lock()
	c, ok := s.models[productID]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	rec, err := s.store.LatestModel(ctx, productID)
	switch {
	case errors.Is(err, ErrNoModel):
	case err != nil:
		return cachedModel{}, err
	default:
		m, err := thingmodel.Parse([]byte(rec.Schema))
		if err != nil {
			// Stored models were valid when stored; a parser change may
			// reject one. Treat it as absent rather than fail every message.
			s.log.Error("stored thing model does not parse", "product_id", productID, "version", rec.Version, "err", err)
		} else {
			c = cachedModel{m: m, rec: rec}
		}
	}
	s.mu.Lock()
	s.models[productID] = c
	s.mu.Unlock()
	return c, nil
}

// DescribeModel returns the product's stored model, or ErrNoModel.
func (s *Service) DescribeModel(ctx context.Context, productID string) (ModelRecord, error) {
	rec, err := s.store.LatestModel(ctx, productID)
	if err != nil {
		return ModelRecord{}, err
	}
	return rec, nil
}

// DefineModel validates schema and stores it as the product's next model
// version. Invalid schemas return the *thingmodel.DefineError of Parse.
func (s *Service) DefineModel(ctx context.Context, productID, schema string) (ModelRecord, error) {
	if _, err := thingmodel.Parse([]byte(schema)); err != nil {
		return ModelRecord{}, err
	}
	if _, err := s.store.PutModel(ctx, productID, schema, s.now()); err != nil {
		return ModelRecord{}, err
	}
	s.mu.Lock()
	delete(s.models, productID)
	s.mu.Unlock()
	return s.store.LatestModel(ctx, productID)
}

// Enqueue queues b for the next group commit and returns at once; done is
// called with the commit's outcome. It fails with ErrStopped (done not
// called) once the service stopped.
func (s *Service) Enqueue(ctx context.Context, b Batch, done func(error)) error {
	return s.w.submit(ctx, b, done)
}

// Write commits b with the next group commit and waits for it.
func (s *Service) Write(ctx context.Context, b Batch) error {
	ch := make(chan error, 1)
	if err := s.w.submit(ctx, b, func(err error) { ch <- err }); err != nil {
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Status is a device's latest reported values and pending control.
type Status struct {
	Reported []PropertyValue
	Control  *Control // nil when none
}

// Status returns the device's latest reported values and pending control.
func (s *Service) Status(ctx context.Context, productID, deviceName string) (Status, error) {
	vals, err := s.store.LatestValues(ctx, productID, deviceName)
	if err != nil {
		return Status{}, err
	}
	st := Status{Reported: vals}
	c, ok, err := s.store.PendingControl(ctx, productID, deviceName)
	if err != nil {
		return Status{}, err
	}
	if ok {
		st.Control = &c
	}
	return st, nil
}

// DeviceInfo returns the device's last report_info params.
func (s *Service) DeviceInfo(ctx context.Context, productID, deviceName string) (Info, bool, error) {
	return s.store.DeviceInfo(ctx, productID, deviceName)
}

// PropertyHistory returns property history, oldest first.
func (s *Service) PropertyHistory(ctx context.Context, q HistoryQuery) ([]HistoryPoint, error) {
	return s.store.PropertyHistory(ctx, q)
}

// EventHistory returns event history, newest first, and the total.
func (s *Service) EventHistory(ctx context.Context, q EventQuery) ([]EventRecord, int64, error) {
	return s.store.EventHistory(ctx, q)
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

type offline struct{}

func (offline) Publish(context.Context, string, string, string, []byte, byte) error {
	return ErrDeviceOffline
}
