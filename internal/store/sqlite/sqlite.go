// Package sqlite is the SQLite adapter of the registry store, built on the
// pure-Go driver modernc.org/sqlite. It is the single-node backend: one
// database file in WAL mode, one writer connection (writes and transactions
// queue in Go instead of failing with SQLITE_BUSY) and a pool of read-only
// connections for lookups, which WAL lets run alongside the writer.
//
// The queries live in internal/store/sqlstore and are shared with the
// PostgreSQL adapter; this package owns the SQLite schema.
//
// # Migrations
//
// The schema is the numbered files in migrations/, embedded in the binary and
// applied in order by Open; applied versions are recorded in the
// schema_migrations table, each file running once in its own transaction. To
// change the schema, add the next file, e.g. migrations/0002_thing_model.sql,
// and the same version in internal/store/postgres/migrations (in PostgreSQL's
// dialect). Never edit a file that has been released: add a new one.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// busyTimeoutMillis bounds how long a connection waits for a lock held by
// another process (or a checkpoint) before failing with SQLITE_BUSY.
const busyTimeoutMillis = 10000

var _ registry.Store = (*Store)(nil)

// Store is a registry.Store in a SQLite database file.
type Store struct {
	*sqlstore.Store
	db   *poolDB
	ckpt *checkpointer
}

// Open opens (creating if needed) the SQLite database at path, a file system
// path (not ":memory:"), and applies pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, ":") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("open sqlite: invalid database path %q", path)
	}
	pragmas := []string{
		fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis),
		"foreign_keys(1)",
		"synchronous(NORMAL)",
	}
	// temp_store(MEMORY): multi-row INSERTs keep their statement journal in
	// memory instead of a temporary file.
	write, err := openDB(ctx, path, slices.Concat(pragmas, []string{"journal_mode(WAL)", "temp_store(MEMORY)",
		fmt.Sprintf("wal_autocheckpoint(%d)", autoCheckpointPages)}), url.Values{"_txlock": {"immediate"}})
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	read, err := openDB(ctx, path, slices.Concat(pragmas, []string{"query_only(1)"}), nil)
	if err != nil {
		_ = write.Close()
		return nil, err
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)

	ckptDB, err := openDB(ctx, path, pragmas, nil)
	if err != nil {
		_ = write.Close()
		_ = read.Close()
		return nil, err
	}
	ckptDB.SetMaxOpenConns(1)
	ckptDB.SetMaxIdleConns(1)

	db := &poolDB{write: write, read: read}
	s := &Store{db: db, ckpt: startCheckpointer(ckptDB, checkpointEvery)}
	migrations, err := Migrations()
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	if err := sqlstore.Migrate(ctx, db, migrations, ""); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s.Store = sqlstore.New(db)
	return s, nil
}

// Migrations returns the embedded SQLite migrations in version order.
func Migrations() ([]sqlstore.Migration, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlite migrations: %w", err)
	}
	return sqlstore.LoadMigrations(sub)
}

func openDB(ctx context.Context, path string, pragmas []string, extra url.Values) (*sql.DB, error) {
	q := url.Values{}
	for k, v := range extra {
		q[k] = v
	}
	q["_pragma"] = pragmas
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

// Close stops the checkpoints and closes the connection pools.
func (s *Store) Close() error {
	return errors.Join(s.ckpt.stop(), s.db.close(), s.db.read.Close(), s.db.write.Close())
}

// maxCachedStmts bounds the prepared statements kept per store and pool.
// The queries come from a fixed set in sqlstore; DeviceStats varies with the
// number of product ids and multi-row INSERTs with their power-of-two row
// count, so the bound is rarely reached.
const maxCachedStmts = 256

// poolDB sends reads to the read-only pool and writes and transactions to
// the single writer connection. Statements are prepared once and reused:
// parsing a multi-row INSERT cost the writer as much as running it.
type poolDB struct {
	write *sql.DB
	read  *sql.DB

	readStmts  stmtCache
	writeStmts stmtCache
}

// stmtCache holds prepared statements of one pool by query text.
type stmtCache struct {
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

// get returns the statement prepared on db for query (rewritten by
// anonymousParams when anon), or nil when the cache is full and the query
// should run unprepared.
func (c *stmtCache) get(ctx context.Context, db *sql.DB, query string, anon bool) (*sql.Stmt, error) {
	st, ok, full := c.lookup(query)
	if ok || full {
		return st, nil
	}
	text := query
	if anon {
		text = anonymousParams(query)
	}
	st, err := db.PrepareContext(ctx, text)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.stmts[query]; ok {
		_ = st.Close()
		return prev, nil
	}
	if c.stmts == nil {
		c.stmts = make(map[string]*sql.Stmt)
	}
	c.stmts[query] = st
	return st, nil
}

// lookup returns the cached statement for query, whether there is one and
// whether the cache is full.
func (c *stmtCache) lookup(query string) (st *sql.Stmt, ok, full bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	st, ok = c.stmts[query]
	return st, ok, len(c.stmts) >= maxCachedStmts
}

// close closes the cached statements.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.stmts {
		errs = append(errs, st.Close())
	}
	c.stmts = nil
	return errors.Join(errs...)
}

// readStmt returns the prepared read statement for query, or nil.
func (p *poolDB) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	return p.readStmts.get(ctx, p.read, query, false)
}

// close closes the cached statements of both pools.
func (p *poolDB) close() error {
	return errors.Join(p.readStmts.close(), p.writeStmts.close())
}

func (p *poolDB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if len(args) == 0 { // schema changes and other one-offs: not cached
		return execResult(p.write.ExecContext(ctx, query))
	}
	st, err := p.writeStmts.get(ctx, p.write, query, true)
	if err != nil {
		return 0, err
	}
	if st == nil {
		return execResult(p.write.ExecContext(ctx, anonymousParams(query), args...))
	}
	return execResult(st.ExecContext(ctx, args...))
}

func (p *poolDB) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	st, err := p.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	var rows *sql.Rows
	if st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = p.read.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (p *poolDB) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	st, err := p.readStmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	if st == nil {
		return sqlRow{p.read.QueryRowContext(ctx, query, args...)}
	}
	return sqlRow{st.QueryRowContext(ctx, args...)}
}

func (p *poolDB) Tx(ctx context.Context, fn func(sqlstore.DB) error) error {
	tx, err := p.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	t := txDB{tx: tx, p: p, missed: new([]string)}
	// The transaction holds the only write connection, so statements not
	// cached yet run unprepared and are prepared once it is released.
	defer func() { p.prepareWrites(ctx, *t.missed) }()
	if err := fn(t); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// prepareWrites caches prepared write statements for queries; a query that
// does not prepare is left out (it runs unprepared).
func (p *poolDB) prepareWrites(ctx context.Context, queries []string) {
	for _, q := range queries {
		_, _ = p.writeStmts.get(ctx, p.write, q, true)
	}
}

func (p *poolDB) Violation(err error) sqlstore.Violation { return violation(err) }

// txDB runs everything in one transaction on the writer connection, with
// the writer's cached statements.
type txDB struct {
	tx     *sql.Tx
	p      *poolDB
	missed *[]string // queries to prepare after the transaction
}

// stmt returns the cached statement for query bound to the transaction, or
// nil when it is not cached or the query has no arguments (migrations and
// other one-offs are not cached). A statement prepared on the writer pool
// and bound to a transaction of the same (single) connection reuses the
// prepared SQLite statement.
func (t txDB) stmt(ctx context.Context, query string, args []any) (*sql.Stmt, error) {
	if len(args) == 0 {
		return nil, nil
	}
	st, ok, full := t.p.writeStmts.lookup(query)
	if !ok {
		if !full && !slices.Contains(*t.missed, query) {
			*t.missed = append(*t.missed, query)
		}
		return nil, nil
	}
	return t.tx.StmtContext(ctx, st), nil
}

func (t txDB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	st, err := t.stmt(ctx, query, args)
	if err != nil {
		return 0, err
	}
	if st == nil {
		return execResult(t.tx.ExecContext(ctx, anonymousParams(query), args...))
	}
	return execResult(st.ExecContext(ctx, args...))
}

// anonymousParams rewrites the shared SQL's $1, $2, ... placeholders to
// SQLite's anonymous ? when they appear in order, each once (outside quoted
// text); otherwise it returns query unchanged. SQLite treats $N as a named
// parameter and looks each name up in a list while parsing and binding,
// which makes a multi-row INSERT with hundreds of parameters quadratic;
// anonymous parameters have no names to look up.
func anonymousParams(query string) string {
	if !strings.Contains(query, "$") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query))
	next, quoted := 1, false
	for i := 0; i < len(query); i++ {
		c := query[i]
		if c == '\'' {
			quoted = !quoted
		}
		if c != '$' || quoted {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(query) && query[j] >= '0' && query[j] <= '9' {
			j++
		}
		if j == i+1 {
			b.WriteByte(c)
			continue
		}
		if n, err := strconv.Atoi(query[i+1 : j]); err != nil || n != next {
			return query
		}
		next++
		b.WriteByte('?')
		i = j - 1
	}
	return b.String()
}

func (t txDB) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	st, err := t.stmt(ctx, query, args)
	if err != nil {
		return nil, err
	}
	var rows *sql.Rows
	if st == nil {
		rows, err = t.tx.QueryContext(ctx, query, args...)
	} else {
		rows, err = st.QueryContext(ctx, args...)
	}
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (t txDB) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	st, err := t.stmt(ctx, query, args)
	if err != nil {
		return errRow{err}
	}
	if st == nil {
		return sqlRow{t.tx.QueryRowContext(ctx, query, args...)}
	}
	return sqlRow{st.QueryRowContext(ctx, args...)}
}

func (t txDB) Tx(ctx context.Context, fn func(sqlstore.DB) error) error {
	return fn(t) // already in a transaction
}

func (t txDB) Violation(err error) sqlstore.Violation { return violation(err) }

func execResult(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

type sqlRow struct{ row *sql.Row }

func (r sqlRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return sqlstore.ErrNoRows
	}
	return err
}

// errRow is a Row whose query could not be prepared.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

// violation maps SQLite's extended constraint codes.
func violation(err error) sqlstore.Violation {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return sqlstore.NoViolation
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return sqlstore.UniqueViolation
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return sqlstore.ForeignKeyViolation
	default:
		return sqlstore.NoViolation
	}
}
