package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/thingo-iot/thingo/internal/store/sqlstore"
	"github.com/thingo-iot/thingo/internal/store/storetest"
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
		{"write", "temp_store", "2"}, // MEMORY
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

// TestUpgradeReportHistory opens a database at schema version 8 holding
// property_history rows with every migration and checks the old history.
func TestUpgradeReportHistory(t *testing.T) {
	s := openUpgraded(t, 9, func(exec func(string, ...any)) {
		for _, r := range storetest.OldHistory {
			exec(`INSERT INTO property_history (id, product_id, device_name, property_id, ts, value)
				VALUES (?, ?, ?, ?, ?, ?)`, r.ID, r.ProductID, r.DeviceName, r.PropertyID, r.TS, r.Value)
		}
	})
	storetest.CheckUpgradedHistory(t, s)
}

// TestWriteStatementCache checks that statements with arguments run in a
// transaction are prepared after it and reused by the next, that one-offs
// are not cached and that a full cache still runs new statements.
func TestWriteStatementCache(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := s.db
	const insert = `INSERT INTO device_infos (product_id, device_name, info, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (product_id, device_name) DO UPDATE SET info = excluded.info`
	const oneOff = `CREATE TABLE IF NOT EXISTS cache_probe (id INTEGER PRIMARY KEY)`
	for i := range 3 {
		err := db.Tx(ctx, func(tx sqlstore.DB) error {
			if _, err := tx.Exec(ctx, oneOff); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, insert, "P", "d", `{"n":`+string(rune('0'+i))+`}`, int64(i))
			return err
		})
		if err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		if _, ok, _ := db.writeStmts.lookup(insert); !ok {
			t.Errorf("after tx %d: insert not cached", i)
		}
	}
	if _, ok, _ := db.writeStmts.lookup(oneOff); ok {
		t.Error("statement without arguments cached")
	}
	var info string
	if err := db.read.QueryRowContext(ctx, `SELECT info FROM device_infos WHERE product_id = 'P'`).Scan(&info); err != nil || info != `{"n":2}` {
		t.Errorf("info = %q, %v; want the last write", info, err)
	}

	for i := 0; ; i++ {
		if _, _, full := db.writeStmts.lookup(""); full {
			break
		}
		if _, err := db.Exec(ctx, fmt.Sprintf("UPDATE device_infos SET updated_at = $1 + %d WHERE product_id = 'none'", i), int64(1)); err != nil {
			t.Fatal(err)
		}
	}
	const late = `UPDATE device_infos SET updated_at = $1 WHERE product_id = $2`
	err = db.Tx(ctx, func(tx sqlstore.DB) error {
		_, err := tx.Exec(ctx, late, int64(42), "P")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.writeStmts.lookup(late); ok {
		t.Error("statement cached beyond the bound")
	}
	var at int64
	if err := db.read.QueryRowContext(ctx, `SELECT updated_at FROM device_infos WHERE product_id = 'P'`).Scan(&at); err != nil || at != 42 {
		t.Errorf("updated_at = %d, %v; want 42", at, err)
	}
}

// openUpgraded creates a database at the schema below version (the older
// migrations applied and recorded as the store would), lets fill insert the
// rows of that schema through exec, and opens it with Open, which applies
// the newer migrations. The store is closed when the test ends.
func openUpgraded(t *testing.T, version int64, fill func(exec func(query string, args ...any))) *Store {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	write, err := openDB(ctx, path, []string{"journal_mode(WAL)", "foreign_keys(1)"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	write.SetMaxOpenConns(1)
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var old []sqlstore.Migration
	for _, m := range ms {
		if m.Version < version {
			old = append(old, m)
		}
	}
	if err := sqlstore.Migrate(ctx, &poolDB{write: write, read: write}, old, ""); err != nil {
		t.Fatal(err)
	}
	fill(func(query string, args ...any) {
		t.Helper()
		if _, err := write.ExecContext(ctx, query, args...); err != nil {
			t.Fatal(err)
		}
	})
	if err := write.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
