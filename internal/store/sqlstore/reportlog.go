package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// Property reports are staged. WriteBatch appends each report to report_log,
// a table without secondary indexes, so that a commit dirties few pages
// whatever the number of devices. CompactReports later moves the oldest
// staged rows, in one transaction, into report_history (keeping their ids,
// which report_log takes from report_history's id space) and applies their
// newest values to device_properties. Reads merge both: LatestValues lets a
// staged value win over the stored one by the same rule the compaction
// applies, and PropertyHistory reads report_history UNION ALL report_log in
// one statement, so a row is seen exactly once whether it moved or not.

// lockCompactorSQL is the first statement of a transaction that takes rows
// out of report_log: it locks report_compactor's row, so that such
// transactions of several PostgreSQL nodes run one after the other (SQLite
// has one writer anyway). A second compaction waits for the first to commit
// and then claims the rows after the ones the first moved.
const lockCompactorSQL = `UPDATE report_compactor SET runs = runs + 1 WHERE id = $1`

// stagedReport is a report_log row.
type stagedReport struct {
	id         int64
	productID  string
	deviceName string
	ts         int64
	params     string
}

// CompactReports moves up to limit of the oldest staged reports into the
// property history and applies their values to the latest values, in one
// transaction, and returns how many it moved. Moved rows keep their ids.
// Compactions may run concurrently (on several nodes): each row is moved by
// exactly one.
func (s *Store) CompactReports(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var moved int
	err := s.db.Tx(ctx, func(tx DB) error {
		staged, err := takeStaged(ctx, tx, `DELETE FROM report_log WHERE id IN
			(SELECT id FROM report_log ORDER BY id LIMIT $1)
			RETURNING id, product_id, device_name, ts, params`, int64(limit))
		if err != nil {
			return err
		}
		if len(staged) == 0 {
			return nil
		}
		rows := make([][]any, len(staged))
		for i, r := range staged {
			rows[i] = []any{r.id, r.productID, r.deviceName, r.ts, r.params}
		}
		if err := insertRows(ctx, tx, `INSERT INTO report_history (id, product_id, device_name, ts, params) VALUES `,
			"", rows); err != nil {
			return fmt.Errorf("move to history: %w", err)
		}
		if err := applyLatest(ctx, tx, staged); err != nil {
			return err
		}
		moved = len(staged)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("compact reports: %w", err)
	}
	return moved, nil
}

// pruneStaged deletes the staged reports older than cut (ms) and returns
// how many went. Their values still count for the latest values, as if they
// had been compacted first.
func (s *Store) pruneStaged(ctx context.Context, cut int64) (int64, error) {
	var n int64
	err := s.db.Tx(ctx, func(tx DB) error {
		staged, err := takeStaged(ctx, tx, `DELETE FROM report_log WHERE ts < $1
			RETURNING id, product_id, device_name, ts, params`, cut)
		if err != nil {
			return err
		}
		n = int64(len(staged))
		return applyLatest(ctx, tx, staged)
	})
	return n, err
}

// takeStaged locks the compactor row, runs del, a DELETE FROM report_log
// ... RETURNING its columns, and returns the deleted rows by id. Taking
// rows by deleting them makes the claim atomic: a row deleted meanwhile (its
// device was) is not returned.
func takeStaged(ctx context.Context, tx DB, del string, args ...any) ([]stagedReport, error) {
	if _, err := tx.Exec(ctx, lockCompactorSQL, 1); err != nil {
		return nil, fmt.Errorf("lock compactor: %w", err)
	}
	rows, err := tx.Query(ctx, del, args...)
	if err != nil {
		return nil, fmt.Errorf("take staged reports: %w", err)
	}
	defer rows.Close()
	var out []stagedReport
	for rows.Next() {
		var r stagedReport
		if err := rows.Scan(&r.id, &r.productID, &r.deviceName, &r.ts, &r.params); err != nil {
			return nil, fmt.Errorf("take staged reports: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("take staged reports: %w", err)
	}
	slices.SortFunc(out, func(a, b stagedReport) int { return cmp.Compare(a.id, b.id) })
	return out, nil
}

// latestKey is a property of a device.
type latestKey struct{ productID, deviceName, propertyID string }

// latestValue is a candidate latest value (JSON text): reported at ts in
// report id (0: the stored latest value).
type latestValue struct {
	value string
	ts    int64
	id    int64
}

// replaces reports whether v is the latest value rather than old: the newer
// report, and of two at the same time the later one. A stored value (id 0)
// has no report; a report at its time or later replaces it.
func (v latestValue) replaces(old latestValue) bool {
	if v.ts != old.ts {
		return v.ts > old.ts
	}
	return v.id >= old.id
}

// newestValues returns the newest value of every property in reports.
// Params that do not parse (never written by this package) are skipped:
// failing would leave the compaction stuck on them.
func newestValues(reports []stagedReport) map[latestKey]latestValue {
	out := make(map[latestKey]latestValue)
	var members []param
	for _, r := range reports {
		var err error
		if members, err = reportParams(members[:0], r.params); err != nil {
			continue
		}
		for _, m := range members {
			k := latestKey{r.productID, r.deviceName, m.id}
			v := latestValue{value: m.value, ts: r.ts, id: r.id}
			if old, ok := out[k]; !ok || v.replaces(old) {
				out[k] = v
			}
		}
	}
	return out
}

// applyLatest upserts the newest value of each property in reports into
// device_properties, where it is not older than the stored one. One row per
// property (PostgreSQL refuses an upsert that touches a row twice), in key
// order, so that concurrent upserts lock rows in the same order.
func applyLatest(ctx context.Context, tx DB, reports []stagedReport) error {
	latest := newestValues(reports)
	if len(latest) == 0 {
		return nil
	}
	keys := make([]latestKey, 0, len(latest))
	for k := range latest {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b latestKey) int {
		return cmp.Or(cmp.Compare(a.productID, b.productID), cmp.Compare(a.deviceName, b.deviceName),
			cmp.Compare(a.propertyID, b.propertyID))
	})
	rows := make([][]any, len(keys))
	for i, k := range keys {
		v := latest[k]
		rows[i] = []any{k.productID, k.deviceName, k.propertyID, v.value, v.ts}
	}
	if err := insertRows(ctx, tx, `INSERT INTO device_properties (product_id, device_name, property_id, value, updated_at) VALUES `,
		` ON CONFLICT (product_id, device_name, property_id) DO UPDATE
			SET value = excluded.value, updated_at = excluded.updated_at
			WHERE excluded.updated_at >= device_properties.updated_at`, rows); err != nil {
		return fmt.Errorf("latest values: %w", err)
	}
	return nil
}
