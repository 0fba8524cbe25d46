// Package sqlstore implements registry.Store once, in SQL that SQLite and
// PostgreSQL both accept, over the small DB interface below. The sqlite and
// postgres packages adapt database/sql (modernc.org/sqlite) and pgxpool to DB,
// own their schema migrations and open the database; this package owns the
// queries and the migration runner.
//
// Portability rules for the queries here: placeholders are $1, $2, ... (both
// drivers bind them by ordinal), integers are BIGINT/INTEGER, times are int64
// unix milliseconds with 0 meaning "never", booleans are 0/1 integers, and
// aggregates use COUNT(CASE WHEN ... THEN 1 END) rather than SUM (which is
// NUMERIC in PostgreSQL).
package sqlstore

import (
	"context"
	"errors"
	"time"
)

// ErrNoRows is returned by Row.Scan when the query selected no row. Adapters
// translate their driver's own no-rows error to it.
var ErrNoRows = errors.New("sqlstore: no rows in result set")

// Violation names the kind of constraint an error broke.
type Violation int

// Constraint violations the store maps to registry errors.
const (
	NoViolation Violation = iota
	UniqueViolation
	ForeignKeyViolation
)

// DB is the database access the shared queries need.
type DB interface {
	// Exec runs a statement and returns the number of rows it affected.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Query runs a query returning rows; the caller closes them.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// QueryRow runs a query expected to return at most one row.
	QueryRow(ctx context.Context, query string, args ...any) Row
	// Tx runs fn in a read-write transaction, committing when fn returns nil
	// and rolling back otherwise. fn must use only the DB it is given.
	Tx(ctx context.Context, fn func(tx DB) error) error
	// Violation reports which constraint, if any, err broke.
	Violation(err error) Violation
}

// Row is a single-row query result.
type Row interface {
	// Scan copies the row's columns into dest, or returns ErrNoRows.
	Scan(dest ...any) error
}

// Rows is a multi-row query result.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// millis converts t to unix milliseconds; the zero time becomes 0.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMillis converts unix milliseconds to a UTC time; 0 becomes the zero time.
func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
