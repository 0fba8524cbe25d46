package devicedata

import (
	"context"
	"time"
)

// compaction decides when the writer compacts staged reports: when the
// interval has passed since the last compaction and reports were written
// since, or as soon as more than rows reports were. A compaction is a round
// of chunks (CompactReports calls) that lasts until a chunk moves fewer
// than compactChunk reports; the writer commits queued writes between
// chunks. A failed chunk ends the round; the next one starts after the
// interval, whatever was written meanwhile.
type compaction struct {
	every time.Duration // the interval
	rows  int           // the row threshold

	pending bool      // reports may be staged that no round has taken on
	staged  int       // reports written since the current round began
	next    time.Time // when the interval since the last round (or failure) ends
	more    bool      // the last chunk was full: the round goes on
	backoff bool      // the last chunk failed: only the interval counts
}

// start arms the first compaction one interval after now: reports may be
// left staged by a previous run (a crash), and they are compacted then.
func (c *compaction) start(now time.Time) {
	*c = compaction{every: c.every, rows: c.rows, pending: true, next: now.Add(c.every)}
}

// written counts n reports committed.
func (c *compaction) written(n int) {
	c.staged += n
	c.pending = c.pending || n > 0
}

// due reports whether the writer should run a chunk now.
func (c *compaction) due(now time.Time) bool {
	switch {
	case c.more:
		return true
	case !c.pending:
		return false
	default:
		return !now.Before(c.next) || !c.backoff && c.staged > c.rows
	}
}

// wakeAt returns when a compaction falls due if nothing is written
// meanwhile, and false when only writes can make one due.
func (c *compaction) wakeAt() (time.Time, bool) {
	return c.next, c.pending && !c.more
}

// begin is called before a chunk: unless the round goes on, a new one
// starts now.
func (c *compaction) begin(now time.Time) {
	if !c.more {
		c.pending, c.staged, c.next = false, 0, now.Add(c.every)
	}
}

// end records the outcome of a chunk that ended at now.
func (c *compaction) end(now time.Time, moved int, err error) {
	if err != nil {
		// Retry after the interval, even if nothing is written meanwhile.
		c.pending, c.more, c.backoff, c.next = true, false, true, now.Add(c.every)
		return
	}
	c.backoff = false
	c.more = moved >= compactChunk
}

// compactOnce runs one chunk of compaction. An error is logged and the
// compaction retried later: the reports are committed (staged) already, so
// no write fails because of it.
func (w *writer) compactOnce() {
	w.compaction.begin(time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), compactTimeout)
	defer cancel()
	moved, err := w.store.CompactReports(ctx, compactChunk)
	if err != nil {
		w.log.Error("compact staged reports (retried later)", "err", err)
	}
	w.compaction.end(time.Now(), moved, err)
}

// compactRest compacts every staged report, at shutdown after the last
// writes. What an error leaves staged is compacted after the next start.
func (w *writer) compactRest() {
	ctx, cancel := context.WithTimeout(context.Background(), compactTimeout)
	defer cancel()
	for {
		moved, err := w.store.CompactReports(ctx, compactChunk)
		if err != nil {
			w.log.Error("compact staged reports at shutdown (left for the next start)", "err", err)
			return
		}
		if moved < compactChunk {
			return
		}
	}
}
