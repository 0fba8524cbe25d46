package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/thingo-iot/thingo/internal/devicelog"
)

var _ devicelog.Store = (*Store)(nil)

// AppendDeviceLogs implements devicelog.Store, in one transaction.
func (s *Store) AppendDeviceLogs(ctx context.Context, entries []devicelog.Entry) error {
	return s.db.Tx(ctx, func(tx DB) error {
		for _, e := range entries {
			_, err := tx.Exec(ctx, `INSERT INTO device_logs (product_id, device_name, received_at,
				device_time, level, line) VALUES ($1, $2, $3, $4, $5, $6)`,
				e.ProductID, e.DeviceName, millis(e.Received), e.DeviceTime, e.Level, e.Line)
			if err != nil {
				return fmt.Errorf("append device log of %s/%s: %w", e.ProductID, e.DeviceName, err)
			}
		}
		return nil
	})
}

// ListDeviceLogs implements devicelog.Store.
func (s *Store) ListDeviceLogs(ctx context.Context, q devicelog.Query) ([]devicelog.Entry, int64, error) {
	var w where
	w.add("product_id = ?", q.ProductID)
	w.add("device_name = ?", q.DeviceName)
	if !q.Since.IsZero() {
		w.add("received_at >= ?", millis(q.Since))
	}
	if !q.Until.IsZero() {
		w.add("received_at < ?", millis(q.Until))
	}
	var total int64
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM device_logs`+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count device logs: %w", err)
	}
	limit, args := w.page(q.Offset, q.Limit)
	rows, err := s.db.Query(ctx, `SELECT id, product_id, device_name, received_at, device_time, level, line
		FROM device_logs`+w.String()+` ORDER BY received_at DESC, id DESC`+limit, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list device logs: %w", err)
	}
	defer rows.Close()
	var out []devicelog.Entry
	for rows.Next() {
		var e devicelog.Entry
		var received int64
		if err := rows.Scan(&e.ID, &e.ProductID, &e.DeviceName, &received, &e.DeviceTime, &e.Level, &e.Line); err != nil {
			return nil, 0, fmt.Errorf("scan device log: %w", err)
		}
		e.Received = fromMillis(received)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list device logs: %w", err)
	}
	return out, total, nil
}

// DeleteDeviceLogsBefore implements devicelog.Store.
func (s *Store) DeleteDeviceLogsBefore(ctx context.Context, t time.Time) (int64, error) {
	n, err := s.db.Exec(ctx, `DELETE FROM device_logs WHERE received_at < $1`, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("delete device logs: %w", err)
	}
	return n, nil
}
