package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestCheckpointer: writes are copied from the WAL into the database by the
// background checkpointer, well before the automatic checkpoint's
// threshold, and the writer's threshold is the raised backstop.
func TestCheckpointer(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var pages int
	if err := s.db.write.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if pages != autoCheckpointPages {
		t.Fatalf("wal_autocheckpoint = %d, want %d", pages, autoCheckpointPages)
	}
	before := s.ckpt.frames.Load()
	for i := range 20 {
		if _, err := s.db.Exec(ctx, `INSERT INTO projects (id, name, description, created_at, updated_at) VALUES ($1, $2, '', 0, 0)`,
			fmt.Sprintf("prj-%d", i), fmt.Sprintf("p%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.ckpt.frames.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("no WAL frame checkpointed within 10 s of the writes")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
