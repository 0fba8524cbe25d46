package devicedata

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCompactionDue(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	started := func() compaction {
		c := compaction{every: time.Second, rows: 10}
		c.start(t0)
		return c
	}
	// round runs one chunk that ends at ended with the outcome given.
	round := func(c compaction, at time.Time, moved int, err error) compaction {
		c.begin(at)
		c.end(at, moved, err)
		return c
	}
	tests := []struct {
		name string
		c    compaction
		now  time.Time
		want bool
		wake bool // whether the writer arms its timer
	}{
		{"start: not before the interval", started(), sec(0), false, true},
		{"start: leftovers after the interval", started(), sec(1), true, true},
		{"idle after a round", round(started(), sec(1), 0, nil), sec(5), false, false},
		{"written, interval not over", func() compaction {
			c := round(started(), sec(1), 0, nil)
			c.written(3)
			return c
		}(), sec(1).Add(999 * time.Millisecond), false, true},
		{"written, interval over", func() compaction {
			c := round(started(), sec(1), 0, nil)
			c.written(3)
			return c
		}(), sec(2), true, true},
		{"rows at the threshold", func() compaction {
			c := round(started(), sec(1), 0, nil)
			c.written(10)
			return c
		}(), sec(1), false, true},
		{"rows over the threshold", func() compaction {
			c := round(started(), sec(1), 0, nil)
			c.written(11)
			return c
		}(), sec(1), true, true},
		{"empty batches do not count", func() compaction {
			c := round(started(), sec(1), 0, nil)
			c.written(0)
			return c
		}(), sec(9), false, false},
		{"full chunk: the round goes on", round(started(), sec(1), compactChunk, nil), sec(1), true, false},
		{"failed: not before the interval", round(started(), sec(1), 0, errors.New("x")), sec(1), false, true},
		{"failed: rows wait for the interval", func() compaction {
			c := round(started(), sec(1), 0, errors.New("x"))
			c.written(100)
			return c
		}(), sec(1), false, true},
		{"failed: retried after the interval", round(started(), sec(1), 0, errors.New("x")), sec(2), true, true},
		{"failed mid-round: retried after the interval", round(round(started(), sec(1), compactChunk, nil), sec(1), 0,
			errors.New("x")), sec(2), true, true},
		{"retry succeeded: rows count again", func() compaction {
			c := round(round(started(), sec(1), 0, errors.New("x")), sec(2), 0, nil)
			c.written(11)
			return c
		}(), sec(2), true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			if got := c.due(tc.now); got != tc.want {
				t.Errorf("due = %v, want %v (state %+v)", got, tc.want, c)
			}
			if _, wake := c.wakeAt(); wake != tc.wake {
				t.Errorf("wakeAt armed = %v, want %v (state %+v)", wake, tc.wake, c)
			}
		})
	}
}

// reports returns a batch of n one-value reports.
func reports(n int) Batch {
	var b Batch
	for range n {
		b.Reports = append(b.Reports, Report{ProductID: "P", DeviceName: "d", Values: []PropertyValue{{ID: "a"}}})
	}
	return b
}

// waitFor polls cond until it holds or fails the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// counts returns the reports staged and compacted in st.
func counts(st *fakeStore) (staged, compacted int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.staged, st.compacted
}

// run starts s and returns a function that stops it and waits for Run.
func run(s *Service) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func TestWriterCompacts(t *testing.T) {
	ctx := context.Background()
	t.Run("after the interval", func(t *testing.T) {
		st := newFakeStore()
		s := start(t, Config{Store: st, CompactInterval: 20 * time.Millisecond, CompactRows: 1 << 20})
		// The first interval compacts what a previous run may have left.
		waitFor(t, "the start-up compaction", func() bool { return st.compactions() == 1 })
		if err := s.Write(ctx, reports(3)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the compaction", func() bool { staged, done := counts(st); return staged == 0 && done == 3 })
		// Nothing written: no more compactions.
		n := st.compactions()
		time.Sleep(100 * time.Millisecond)
		if got := st.compactions(); got != n {
			t.Errorf("%d compactions while idle", got-n)
		}
	})

	t.Run("past the row threshold", func(t *testing.T) {
		st := newFakeStore()
		s := start(t, Config{Store: st, CompactInterval: time.Hour, CompactRows: 10})
		if err := s.Write(ctx, reports(10)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		if n := st.compactions(); n != 0 {
			t.Fatalf("%d compactions at the threshold, want none", n)
		}
		if err := s.Write(ctx, reports(1)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the compaction", func() bool { staged, done := counts(st); return staged == 0 && done == 11 })
	})

	t.Run("at shutdown", func(t *testing.T) {
		st := newFakeStore()
		s, err := NewService(Config{Store: st, CompactInterval: time.Hour, BatchDelay: time.Hour, BatchItems: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		stop := run(s)
		acked := make(chan error, 3)
		for range 3 {
			if err := s.Enqueue(ctx, reports(2), func(err error) { acked <- err }); err != nil {
				t.Fatal(err)
			}
		}
		stop()
		for range 3 {
			if err := <-acked; err != nil {
				t.Errorf("write at shutdown: %v", err)
			}
		}
		if staged, done := counts(st); staged != 0 || done != 6 {
			t.Errorf("after shutdown: %d reports staged, %d compacted; want 0 and 6", staged, done)
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		if last := st.ops[len(st.ops)-1]; last != "compact" {
			t.Errorf("last store call at shutdown = %s, want compact (ops %v)", last, st.ops)
		}
	})

	t.Run("in chunks, writes in between", func(t *testing.T) {
		st := newFakeStore()
		st.staged = 2*compactChunk + 1 // left by a previous run
		s, err := NewService(Config{Store: st, CompactInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		acked := make(chan error, 1)
		st.compactErr = func() error {
			// A write arrives while the first chunk runs: it is committed
			// before the next chunk.
			once.Do(func() {
				if err := s.Enqueue(ctx, event("ok"), func(err error) { acked <- err }); err != nil {
					t.Error(err)
				}
			})
			return nil
		}
		stop := run(s)
		defer stop()
		if err := <-acked; err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the compaction", func() bool { staged, _ := counts(st); return staged == 0 })
		time.Sleep(30 * time.Millisecond) // nothing more to do: no more calls
		st.mu.Lock()
		defer st.mu.Unlock()
		if want := []string{"compact", "write", "compact", "compact"}; !slices.Equal(st.ops, want) {
			t.Errorf("store calls = %v, want %v", st.ops, want)
		}
	})

	t.Run("errors are logged and retried", func(t *testing.T) {
		st := newFakeStore()
		var mu sync.Mutex
		failing := true
		st.compactErr = func() error {
			mu.Lock()
			defer mu.Unlock()
			if failing {
				return errors.New("disk on fire")
			}
			return nil
		}
		var logs syncBuffer
		const every = 30 * time.Millisecond
		s := start(t, Config{Store: st, CompactInterval: every, CompactRows: 1,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		began := time.Now()
		// Every write is over the row threshold, and every write succeeds;
		// a failed compaction is retried after the interval, not per write.
		for i := range 50 {
			if err := s.Write(ctx, reports(2)); err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
		}
		waitFor(t, "a failed compaction", func() bool { return st.compactions() > 0 })
		calls, elapsed := st.compactions(), time.Since(began)
		if limit := int(elapsed/every) + 2; calls > limit {
			t.Errorf("%d compactions failed in %v, want at most %d (one per interval)", calls, elapsed, limit)
		}
		mu.Lock()
		failing = false
		mu.Unlock()
		waitFor(t, "the retried compaction", func() bool { staged, done := counts(st); return staged == 0 && done == 100 })
		if !strings.Contains(logs.String(), "disk on fire") {
			t.Errorf("compaction error not logged: %q", logs.String())
		}
	})
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
