package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migration is one numbered schema change.
type Migration struct {
	Version int64
	Name    string // file name, for error messages
	SQL     string
}

// ErrBadMigration reports a migration file whose name or number is invalid.
var ErrBadMigration = errors.New("invalid migration")

// LoadMigrations reads every *.sql file at the root of fsys. Each name must
// start with a positive version number followed by '_' (0001_registry.sql);
// versions must be unique. The result is sorted by version.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	seen := make(map[int64]string)
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok {
			return nil, fmt.Errorf("%w: %s: name must be <version>_<name>.sql", ErrBadMigration, e.Name())
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%w: %s: version %q is not a positive number", ErrBadMigration, e.Name(), num)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("%w: %s and %s share version %d", ErrBadMigration, prev, e.Name(), v)
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate applies, in version order, every migration not yet recorded in the
// schema_migrations table. Each migration runs in its own transaction together
// with the insert of its version, so it is applied exactly once. lockSQL, when
// not empty, runs first in every transaction to serialise concurrent migrators
// (PostgreSQL: an advisory transaction lock); the applied check is repeated
// under that lock.
func Migrate(ctx context.Context, db DB, migrations []Migration, lockSQL string) error {
	for _, m := range migrations {
		err := db.Tx(ctx, func(tx DB) error {
			if lockSQL != "" {
				if _, err := tx.Exec(ctx, lockSQL); err != nil {
					return fmt.Errorf("lock: %w", err)
				}
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version    BIGINT PRIMARY KEY,
				applied_at BIGINT NOT NULL
			)`); err != nil {
				return fmt.Errorf("create schema_migrations: %w", err)
			}
			var n int64
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
				return fmt.Errorf("read schema_migrations: %w", err)
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				m.Version, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}
