package devicedata

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeStore keeps models and counts batches; WriteBatch fails for batches
// containing an event with id "bad". Reports are staged (counted) until
// CompactReports moves them.
type fakeStore struct {
	mu      sync.Mutex
	models  map[string][]string
	batches []Batch
	cutoff  time.Time

	staged    int      // reports written and not compacted
	compacted int      // reports compacted
	ops       []string // "write" and "compact", in call order
	// compactErr, if set, is called by CompactReports; an error it returns
	// fails the compaction (nothing moves).
	compactErr func() error
}

func newFakeStore() *fakeStore { return &fakeStore{models: map[string][]string{}} }

func (f *fakeStore) PutModel(_ context.Context, pid, schema string, _ time.Time) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.models[pid] = append(f.models[pid], schema)
	return int64(len(f.models[pid])), nil
}

func (f *fakeStore) LatestModel(_ context.Context, pid string) (ModelRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.models[pid]
	if len(v) == 0 {
		return ModelRecord{}, ErrNoModel
	}
	return ModelRecord{ProductID: pid, Version: int64(len(v)), Schema: v[len(v)-1]}, nil
}

func (f *fakeStore) WriteBatch(_ context.Context, b Batch) error {
	for _, e := range b.Events {
		if e.EventID == "bad" {
			return errors.New("bad event")
		}
	}
	f.mu.Lock()
	f.batches = append(f.batches, b)
	f.staged += len(b.Reports)
	f.ops = append(f.ops, "write")
	f.mu.Unlock()
	return nil
}

func (f *fakeStore) CompactReports(_ context.Context, limit int) (int, error) {
	f.mu.Lock()
	hook := f.compactErr
	f.ops = append(f.ops, "compact")
	f.mu.Unlock()
	if hook != nil {
		if err := hook(); err != nil {
			return 0, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := min(limit, f.staged)
	f.staged -= n
	f.compacted += n
	return n, nil
}

// compactions returns the number of CompactReports calls.
func (f *fakeStore) compactions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, op := range f.ops {
		if op == "compact" {
			n++
		}
	}
	return n
}

func (f *fakeStore) LatestValues(context.Context, string, string) ([]PropertyValue, error) {
	return nil, nil
}

func (f *fakeStore) PendingControl(context.Context, string, string) (Control, bool, error) {
	return Control{}, false, nil
}

func (f *fakeStore) DeviceInfo(context.Context, string, string) (Info, bool, error) {
	return Info{}, false, nil
}

func (f *fakeStore) PropertyHistory(context.Context, HistoryQuery) ([]HistoryPoint, error) {
	return nil, nil
}

func (f *fakeStore) EventHistory(context.Context, EventQuery) ([]EventRecord, int64, error) {
	return nil, 0, nil
}

func (f *fakeStore) DeleteHistoryBefore(_ context.Context, t time.Time) (int64, error) {
	f.mu.Lock()
	f.cutoff = t
	f.mu.Unlock()
	return 0, nil
}

const model = `{"version":"1.0","properties":[{"id":"a","name":"a","mode":"rw","define":{"type":"int","min":"0","max":"9"}}],
"actions":[{"id":"go","name":"g","input":[],"output":[]}]}`

func start(t *testing.T, cfg Config) *Service {
	t.Helper()
	s, err := NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func event(id string) Batch {
	return Batch{Events: []EventRecord{{ProductID: "P", DeviceName: "d", EventID: id}}}
}

func TestGroupCommit(t *testing.T) {
	st := newFakeStore()
	s, err := NewService(Config{Store: st, BatchDelay: time.Millisecond, BatchItems: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// Writes queued before the writer runs are committed in one batch; the
	// one that fails is retried alone and only it reports the failure.
	errs := make(chan error, 20)
	for i := range 20 {
		id := "ok"
		if i == 7 {
			id = "bad"
		}
		if err := s.Enqueue(context.Background(), event(id), func(err error) { errs <- err }); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	failed := 0
	for range 20 {
		if err := <-errs; err != nil {
			failed++
		}
	}
	cancel()
	<-done
	if failed != 1 {
		t.Errorf("%d writes failed, want exactly the bad one", failed)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	// How the 20 writes were grouped depends on timing; what must hold is
	// that the 19 good ones were all committed and the bad one never was.
	committed := 0
	for _, b := range st.batches {
		for _, e := range b.Events {
			if e.EventID != "ok" {
				t.Errorf("committed %q", e.EventID)
			}
			committed++
		}
	}
	if committed != 19 {
		t.Errorf("%d writes committed, want the 19 good ones", committed)
	}
}

func TestBatching(t *testing.T) {
	st := newFakeStore()
	s, err := NewService(Config{Store: st, BatchDelay: time.Millisecond, BatchItems: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		if err := s.Enqueue(context.Background(), event("ok"), func(error) { wg.Done() }); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	wg.Wait()
	cancel()
	<-done
	st.mu.Lock()
	defer st.mu.Unlock()
	total := 0
	for _, b := range st.batches {
		total += len(b.Events)
	}
	// Writes queued together share batches (how many depends on timing on
	// a loaded machine; one write per batch would mean no group commit).
	if total != 50 || len(st.batches) > 25 {
		t.Errorf("%d writes in %d batches, want 50 writes grouped into far fewer batches", total, len(st.batches))
	}
}

func TestStopCommitsQueuedWrites(t *testing.T) {
	st := newFakeStore()
	s, err := NewService(Config{Store: st, BatchDelay: time.Hour, BatchItems: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	acked := make(chan error, 3)
	for range 3 {
		if err := s.Enqueue(context.Background(), event("ok"), func(err error) { acked <- err }); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	<-done
	for range 3 {
		if err := <-acked; err != nil {
			t.Errorf("queued write at stop: %v", err)
		}
	}
	if err := s.Enqueue(context.Background(), event("ok"), nil); !errors.Is(err, ErrStopped) {
		t.Errorf("Enqueue after stop = %v, want ErrStopped", err)
	}
}

func TestModelCacheInvalidation(t *testing.T) {
	st := newFakeStore()
	s := start(t, Config{Store: st})
	ctx := context.Background()
	if _, err := s.Model(ctx, "P"); !errors.Is(err, ErrNoModel) {
		t.Fatalf("Model before define = %v", err)
	}
	if _, err := s.DefineModel(ctx, "P", `{"version":"1.0","properties":[{"id":"a"}]}`); err == nil {
		t.Fatal("invalid model accepted")
	}
	if _, err := s.DefineModel(ctx, "P", model); err != nil {
		t.Fatal(err)
	}
	m, err := s.Model(ctx, "P")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Property("a"); !ok {
		t.Error("defined model lacks property a")
	}
}

type offlinePub struct{}

func (offlinePub) Publish(context.Context, string, string, string, []byte, byte) error { return nil }

func TestActionTimeout(t *testing.T) {
	st := newFakeStore()
	s := start(t, Config{Store: st, Publisher: offlinePub{}, ActionTimeout: 20 * time.Millisecond})
	ctx := context.Background()
	if _, err := s.DefineModel(ctx, "P", model); err != nil {
		t.Fatal(err)
	}
	r, err := s.CallAction(ctx, "P", "d", "go", nil, true)
	if !errors.Is(err, ErrActionTimeout) || r.ClientToken == "" {
		t.Errorf("CallAction = %+v, %v; want ErrActionTimeout", r, err)
	}
	// A late reply finds no call.
	if err := s.ActionReply(ctx, "P", "d", ActionResult{ClientToken: r.ClientToken}); !errors.Is(err, ErrUnknownCall) {
		t.Errorf("late reply = %v, want ErrUnknownCall", err)
	}
	noPub := start(t, Config{Store: st})
	if _, err := noPub.CallAction(ctx, "P", "d", "go", nil, true); !errors.Is(err, ErrDeviceOffline) {
		t.Errorf("CallAction without a publisher = %v, want ErrDeviceOffline", err)
	}
}

func TestRetention(t *testing.T) {
	st := newFakeStore()
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	s := start(t, Config{Store: st, Now: func() time.Time { return now }})
	s.PruneHistory(context.Background())
	st.mu.Lock()
	defer st.mu.Unlock()
	if want := now.Add(-DefaultRetention); !st.cutoff.Equal(want) {
		t.Errorf("cutoff = %v, want %v", st.cutoff, want)
	}
}

// TestCommitDoesNotWaitForCallbacks: the done callbacks of a committed batch
// (the replies to devices) run while the writer commits the next batch, in
// commit order.
func TestCommitDoesNotWaitForCallbacks(t *testing.T) {
	st := newFakeStore()
	s := start(t, Config{Store: st})
	release := make(chan struct{})
	order := make(chan string, 2)
	if err := s.Enqueue(context.Background(), event("first"), func(err error) {
		<-release // a slow reply
		order <- "first"
	}); err != nil {
		t.Fatal(err)
	}
	// Wait for the first batch to be committed, so that the second is a
	// batch of its own.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st.mu.Lock()
		n := len(st.batches)
		st.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("first batch not committed")
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.Enqueue(context.Background(), event("second"), func(err error) {
		order <- "second"
	}); err != nil {
		t.Fatal(err)
	}
	// The second batch commits although the first one's callback blocks.
	for {
		st.mu.Lock()
		n := len(st.batches)
		st.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("second batch not committed while the first batch's callback ran")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if a, b := <-order, <-order; a != "first" || b != "second" {
		t.Fatalf("callbacks ran in order %s, %s; want first, second", a, b)
	}
}
