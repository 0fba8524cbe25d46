package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// Checkpoints. SQLite's automatic checkpoint runs inside the commit that
// pushes the WAL past wal_autocheckpoint pages, so one device's reply in a
// thousand waited for the WAL to be copied into the database (the p99 of the
// report path). A checkpointer on a connection of its own copies the WAL in
// passive mode — alongside the writer, never blocking it — every
// checkpointEvery; the automatic checkpoint stays as a backstop at a higher
// threshold for when the checkpointer falls behind.
const (
	checkpointEvery = 500 * time.Millisecond
	// autoCheckpointPages is the writer's wal_autocheckpoint (SQLite's
	// default is 1000 pages, 4 MiB at the default page size).
	autoCheckpointPages = 8000
)

// checkpointer runs passive checkpoints on its own connection.
type checkpointer struct {
	db     *sql.DB
	cancel context.CancelFunc
	done   sync.WaitGroup
	// frames counts the WAL frames copied into the database so far.
	frames atomic.Int64
}

func startCheckpointer(db *sql.DB, every time.Duration) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, cancel: cancel}
	c.done.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.checkpoint(ctx)
			}
		}
	})
	return c
}

// checkpoint copies what it can of the WAL. Errors are left to the next
// round and to the automatic checkpoint; busy means a checkpoint of
// another connection ran at the same time.
func (c *checkpointer) checkpoint(ctx context.Context) {
	var busy, logFrames, copied int64
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &copied); err != nil {
		return
	}
	if copied > 0 {
		c.frames.Add(copied)
	}
}

// stop ends the checkpoints and closes the connection.
func (c *checkpointer) stop() error {
	c.cancel()
	c.done.Wait()
	return c.db.Close()
}
