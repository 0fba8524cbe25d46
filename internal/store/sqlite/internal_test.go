package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/thingo-iot/thingo/internal/store/sqlstore"
)

func TestPragmas(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		pool   string
		pragma string
		want   string
	}{
		{"write", "journal_mode", "wal"},
		{"write", "foreign_keys", "1"},
		{"write", "synchronous", "1"}, // NORMAL
		{"write", "busy_timeout", "10000"},
		{"write", "query_only", "0"},
		{"read", "journal_mode", "wal"},
		{"read", "foreign_keys", "1"},
		{"read", "busy_timeout", "10000"},
		{"read", "query_only", "1"},
	}
	for _, tc := range tests {
		db := s.db.read
		if tc.pool == "write" {
			db = s.db.write
		}
		var got string
		if err := db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("%s PRAGMA %s: %v", tc.pool, tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("%s PRAGMA %s = %q, want %q", tc.pool, tc.pragma, got, tc.want)
		}
	}
}

// TestMigrateAddsOnlyNewVersions shows how a later migration lands: it is
// applied once, on top of the recorded ones, and a failing one rolls back.
func TestMigrateAddsOnlyNewVersions(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := s.db
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	next := int64(len(ms) + 1)
	ms = append(ms, sqlstore.Migration{Version: next, Name: "next.sql",
		SQL: "CREATE TABLE extra (id INTEGER PRIMARY KEY); INSERT INTO extra (id) VALUES (1);"})
	for range 2 { // the second run must be a no-op
		if err := sqlstore.Migrate(ctx, db, ms, ""); err != nil {
			t.Fatal(err)
		}
	}
	var rows, versions int64
	if err := s.db.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM extra").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := s.db.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || versions != next {
		t.Errorf("extra rows = %d, versions = %d; want 1, %d", rows, versions, next)
	}

	bad := append(ms, sqlstore.Migration{Version: next + 1, Name: "bad.sql",
		SQL: "CREATE TABLE half (id INTEGER); SELECT * FROM no_such_table;"})
	if err := sqlstore.Migrate(ctx, db, bad, ""); err == nil {
		t.Fatal("failing migration succeeded")
	}
	var half int64
	if err := s.db.read.QueryRowContext(ctx,
		"SELECT COUNT(*) FROM sqlite_schema WHERE name = 'half'").Scan(&half); err != nil {
		t.Fatal(err)
	}
	if half != 0 {
		t.Error("failed migration left its table behind")
	}
}

func TestAnonymousParams(t *testing.T) {
	cases := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"INSERT INTO t VALUES ($1, $2), ($3, $4)", "INSERT INTO t VALUES (?, ?), (?, ?)"},
		{"SELECT * FROM t WHERE a = $1 OR b = $1", "SELECT * FROM t WHERE a = $1 OR b = $1"},
		{"SELECT * FROM t WHERE a = $2 AND b = $1", "SELECT * FROM t WHERE a = $2 AND b = $1"},
		{"SELECT '$1' || $1", "SELECT '$1' || ?"},
		{"SELECT $10", "SELECT $10"},
	}
	for _, tc := range cases {
		if got := anonymousParams(tc.in); got != tc.want {
			t.Errorf("anonymousParams(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
