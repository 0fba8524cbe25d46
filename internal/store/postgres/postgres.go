// Package postgres is the PostgreSQL adapter of the registry store, built on
// github.com/jackc/pgx/v5 (pgxpool). It is the cluster backend: every Thingo
// node opens the same database.
//
// The queries live in internal/store/sqlstore and are shared with the SQLite
// adapter; this package owns the PostgreSQL schema.
//
// # Migrations
//
// The schema is the numbered files in migrations/, embedded in the binary and
// applied in order by Open; applied versions are recorded in the
// schema_migrations table, each file running once in its own transaction
// under an advisory lock, so nodes starting together do not race. To change
// the schema, add the next file, e.g. migrations/0002_thing_model.sql, and the
// same version in internal/store/sqlite/migrations (in SQLite's dialect).
// Never edit a file that has been released: add a new one.
//
// Tables are created in the connection's search_path; a URL parameter such
// as ?search_path=thingo selects a schema.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the key of the advisory lock held while migrating
// ("thingo" in ASCII).
const migrationLock = `SELECT pg_advisory_xact_lock(116104105110103111)`

var _ registry.Store = (*Store)(nil)

// Store is a registry.Store in a PostgreSQL database.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
}

// Open connects to the database at url (postgres://user:pass@host/db?...)
// and applies pending migrations.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	migrations, err := Migrations()
	if err != nil {
		pool.Close()
		return nil, err
	}
	db := poolDB{pool}
	if err := sqlstore.Migrate(ctx, db, migrations, migrationLock); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return &Store{Store: sqlstore.New(db), pool: pool}, nil
}

// Migrations returns the embedded PostgreSQL migrations in version order.
func Migrations() ([]sqlstore.Migration, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres migrations: %w", err)
	}
	return sqlstore.LoadMigrations(sub)
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// querier is what pgxpool.Pool and pgx.Tx share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func exec(ctx context.Context, q querier, query string, args []any) (int64, error) {
	tag, err := q.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func query(ctx context.Context, q querier, query string, args []any) (sqlstore.Rows, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

type poolDB struct{ pool *pgxpool.Pool }

func (p poolDB) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return exec(ctx, p.pool, q, args)
}

func (p poolDB) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	return query(ctx, p.pool, q, args)
}

func (p poolDB) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return pgRow{p.pool.QueryRow(ctx, q, args...)}
}

func (p poolDB) Tx(ctx context.Context, fn func(sqlstore.DB) error) error {
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error { return fn(txDB{tx}) })
}

func (p poolDB) Violation(err error) sqlstore.Violation { return violation(err) }

type txDB struct{ tx pgx.Tx }

func (t txDB) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return exec(ctx, t.tx, q, args)
}

func (t txDB) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	return query(ctx, t.tx, q, args)
}

func (t txDB) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return pgRow{t.tx.QueryRow(ctx, q, args...)}
}

func (t txDB) Tx(ctx context.Context, fn func(sqlstore.DB) error) error {
	return fn(t) // already in a transaction
}

func (t txDB) Violation(err error) sqlstore.Violation { return violation(err) }

type pgRow struct{ row pgx.Row }

func (r pgRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sqlstore.ErrNoRows
	}
	return err
}

// violation maps PostgreSQL's SQLSTATE class 23 codes.
func violation(err error) sqlstore.Violation {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return sqlstore.NoViolation
	}
	switch pe.Code {
	case "23505": // unique_violation
		return sqlstore.UniqueViolation
	case "23503": // foreign_key_violation
		return sqlstore.ForeignKeyViolation
	default:
		return sqlstore.NoViolation
	}
}
