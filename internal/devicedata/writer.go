package devicedata

import (
	"context"
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

type writeReq struct {
	b    Batch
	done func(error)
}

// writer group-commits batches: it waits for a first write, collects more
// for up to delay or until items rows are pending, writes them in one
// transaction and then calls every done callback with the outcome.
type writer struct {
	store Store
	recs  RecordStore // nil: Raw and Replies are dropped
	keep  int         // raw uplinks kept per device
	in    chan writeReq
	delay time.Duration
	items int

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
	return &writer{store: store, in: make(chan writeReq, 4*items), delay: delay, items: items}
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
// submitters blocked on a full queue get through, then commits the rest.
func (w *writer) close() {
	for !w.mu.TryLock() {
		w.drain()
		runtime.Gosched()
	}
	w.closed = true
	w.mu.Unlock()
	w.drain()
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
	for {
		var first writeReq
		select {
		case first = <-w.in:
		case <-ctx.Done():
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
