package devicedata

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"time"
)

// Defaults of the group commit. With no delay the writer commits as soon as
// it is free: what arrived while the previous batch was being committed
// forms the next batch, so batches grow with the load and an idle system
// adds no latency.
const (
	DefaultBatchDelay = 0
	DefaultBatchItems = 500
)

// Defaults of the compaction of staged reports (Store.CompactReports): the
// writer compacts when DefaultCompactInterval has passed since the last
// compaction and reports were written since, or as soon as more than
// DefaultCompactRows reports were.
const (
	DefaultCompactInterval = time.Second
	DefaultCompactRows     = 5000
)

// compactChunk is the limit of one CompactReports call. Queued writes are
// committed between chunks, so a chunk is what a write may wait for: a
// 5000-row chunk took 45 – 55 ms here (100 devices, five values), 500 rows
// keep that wait near 5 ms (the p99 of the report path).
const compactChunk = 500

// compactTimeout bounds one chunk, and the compaction of what is left at
// shutdown as a whole.
const compactTimeout = 30 * time.Second

type writeReq struct {
	b    Batch
	done func(error)
}

// writer group-commits batches: it waits for a first write, collects more
// for up to delay or until items rows are pending, writes them in one
// transaction and then calls every done callback with the outcome.
//
// Between batches it compacts the staged reports (see compaction), so a
// compaction never competes with this process's writes for the database.
type writer struct {
	store Store
	recs  RecordStore // nil: Raw and Replies are dropped
	keep  int         // raw uplinks kept per device
	in    chan writeReq
	delay time.Duration
	items int
	log   *slog.Logger

	compaction compaction // used by run's goroutine only

	mu     sync.RWMutex // submit holds it shared; closing takes it exclusively
	closed bool

	// notify carries committed batches to the goroutine that calls their
	// done callbacks (while run runs), so that the next commit does not
	// wait for the replies of the previous one to be sent.
	notify chan notice
}

// notice is a committed (or failed) batch: errs[i] is the outcome of reqs[i].
type notice struct {
	reqs []writeReq
	errs []error
}

func newWriter(store Store, delay time.Duration, items int) *writer {
	return &writer{
		store: store, in: make(chan writeReq, 4*items), delay: delay, items: items,
		log:        slog.New(slog.DiscardHandler),
		compaction: compaction{every: DefaultCompactInterval, rows: DefaultCompactRows},
	}
}

// submit queues b; done is called once, after the commit (or failure). It
// returns ErrStopped without calling done when the writer has stopped.
func (w *writer) submit(ctx context.Context, b Batch, done func(error)) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrStopped
	}
	select {
	case w.in <- writeReq{b: b, done: done}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close refuses further writes, committing queued ones meanwhile so that
// submitters blocked on a full queue get through, then commits the rest
// and compacts every staged report.
func (w *writer) close() {
	for !w.mu.TryLock() {
		w.drain()
		runtime.Gosched()
	}
	w.closed = true
	w.mu.Unlock()
	w.drain()
	w.compactRest()
}

// run writes batches until ctx ends, then writes what is still queued and
// returns after every done callback has returned. Writes after ctx ended
// use a fresh context so that a shutdown does not lose acknowledged-to-be
// data. The done callbacks run on a goroutine of their own, in commit
// order: a reply to a device is sent while the next batch is written.
func (w *writer) run(ctx context.Context) {
	w.notify = make(chan notice, 4)
	notified := make(chan struct{})
	go func() {
		defer close(notified)
		for n := range w.notify {
			for i, r := range n.reqs {
				finish(r, n.errs[i])
			}
		}
	}()
	defer func() {
		close(w.notify)
		<-notified
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	compactTimer := time.NewTimer(time.Hour)
	compactTimer.Stop()
	w.compaction.start(time.Now())
	for {
		first, ok := w.next(ctx, compactTimer)
		if !ok {
			w.close()
			return
		}
		reqs := []writeReq{first}
		n := first.b.size()
		if w.delay <= 0 {
		queued:
			for n < w.items {
				select {
				case r := <-w.in:
					reqs = append(reqs, r)
					n += r.b.size()
				default:
					break queued
				}
			}
			w.commit(reqs)
			continue
		}
		timer.Reset(w.delay)
	collect:
		for n < w.items {
			select {
			case r := <-w.in:
				reqs = append(reqs, r)
				n += r.b.size()
			case <-timer.C:
				break collect
			case <-ctx.Done():
				break collect
			}
		}
		timer.Stop()
		w.commit(reqs)
	}
}

// next returns the first write of the next batch, or false once ctx has
// ended. While a compaction is due it runs a chunk at a time, returning
// the writes that queued meanwhile before the next chunk; t wakes it when
// the compaction interval ends.
func (w *writer) next(ctx context.Context, t *time.Timer) (writeReq, bool) {
	for {
		if w.compaction.due(time.Now()) {
			w.compactOnce()
			select {
			case r := <-w.in:
				return r, true
			case <-ctx.Done():
				return writeReq{}, false
			default:
				continue
			}
		}
		var wake <-chan time.Time
		if at, ok := w.compaction.wakeAt(); ok {
			t.Reset(time.Until(at))
			wake = t.C
		}
		select {
		case r := <-w.in:
			t.Stop()
			return r, true
		case <-wake:
		case <-ctx.Done():
			t.Stop()
			return writeReq{}, false
		}
	}
}

func (w *writer) drain() {
	for {
		var reqs []writeReq
		n := 0
	take:
		for n < w.items {
			select {
			case r := <-w.in:
				reqs = append(reqs, r)
				n += r.b.size()
			default:
				break take
			}
		}
		if len(reqs) == 0 {
			return
		}
		w.commit(reqs)
	}
}

func (w *writer) commit(reqs []writeReq) {
	var b Batch
	for _, r := range reqs {
		b.append(r.b)
	}
	errs := make([]error, len(reqs))
	if err := w.write(b); err != nil {
		if len(reqs) == 1 {
			errs[0] = err
		} else {
			// One bad write must not fail the others: retry them one by one.
			for i, r := range reqs {
				errs[i] = w.write(r.b)
			}
		}
	}
	for i, r := range reqs {
		if errs[i] == nil {
			w.compaction.written(len(r.b.Reports))
		}
	}
	if w.notify != nil {
		w.notify <- notice{reqs: reqs, errs: errs}
		return
	}
	for i, r := range reqs {
		finish(r, errs[i])
	}
}

func (w *writer) write(b Batch) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	extra := len(b.Raw) > 0 || len(b.Replies) > 0
	if !extra || len(b.Reports)+len(b.Events)+len(b.Infos)+len(b.Controls) > 0 {
		if err := w.store.WriteBatch(ctx, b); err != nil {
			return err
		}
	}
	if extra && w.recs != nil {
		return w.recs.WriteRecords(ctx, b.Raw, b.Replies, w.keep)
	}
	return nil
}

func finish(r writeReq, err error) {
	if r.done != nil {
		r.done(err)
	}
}
