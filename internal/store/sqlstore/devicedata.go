package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/registry"
)

var _ devicedata.Store = (*Store)(nil)

// PutModel stores schema as the product's next thing-model version.
func (s *Store) PutModel(ctx context.Context, productID, schema string, at time.Time) (int64, error) {
	var version int64
	err := s.db.Tx(ctx, func(tx DB) error {
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM thing_models WHERE product_id = $1`,
			productID).Scan(&version); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO thing_models (product_id, version, schema, created_at) VALUES ($1, $2, $3, $4)`,
			productID, version, schema, millis(at))
		return err
	})
	switch {
	case err == nil:
		return version, nil
	case s.db.Violation(err) == ForeignKeyViolation:
		return 0, fmt.Errorf("put model of %s: %w", productID, registry.ErrProductNotFound)
	default:
		return 0, fmt.Errorf("put model of %s: %w", productID, err)
	}
}

// LatestModel returns the product's latest thing model or devicedata.ErrNoModel.
func (s *Store) LatestModel(ctx context.Context, productID string) (devicedata.ModelRecord, error) {
	m := devicedata.ModelRecord{ProductID: productID}
	var updated, created int64
	err := s.db.QueryRow(ctx, `SELECT m.version, m.schema, m.created_at,
			(SELECT MIN(f.created_at) FROM thing_models f WHERE f.product_id = m.product_id)
		FROM thing_models m WHERE m.product_id = $1 ORDER BY m.version DESC LIMIT 1`, productID).
		Scan(&m.Version, &m.Schema, &updated, &created)
	if errors.Is(err, ErrNoRows) {
		return devicedata.ModelRecord{}, fmt.Errorf("model of %s: %w", productID, devicedata.ErrNoModel)
	}
	if err != nil {
		return devicedata.ModelRecord{}, fmt.Errorf("model of %s: %w", productID, err)
	}
	m.CreatedAt, m.UpdatedAt = fromMillis(created), fromMillis(updated)
	return m, nil
}

// WriteBatch applies b in one transaction.
func (s *Store) WriteBatch(ctx context.Context, b devicedata.Batch) error {
	err := s.db.Tx(ctx, func(tx DB) error {
		if err := writeReports(ctx, tx, b.Reports); err != nil {
			return err
		}
		for _, e := range b.Events {
			if _, err := tx.Exec(ctx, `INSERT INTO event_history (product_id, device_name, event_id, type, ts, params)
				VALUES ($1, $2, $3, $4, $5, $6)`, e.ProductID, e.DeviceName, e.EventID, e.Type, millis(e.At),
				string(jsonOrEmpty(e.Params))); err != nil {
				return fmt.Errorf("event %s: %w", e.EventID, err)
			}
		}
		for _, in := range b.Infos {
			if _, err := tx.Exec(ctx, `INSERT INTO device_infos (product_id, device_name, info, updated_at)
				VALUES ($1, $2, $3, $4)
				ON CONFLICT (product_id, device_name) DO UPDATE SET info = excluded.info, updated_at = excluded.updated_at`,
				in.ProductID, in.DeviceName, string(jsonOrEmpty(in.Info)), millis(in.At)); err != nil {
				return fmt.Errorf("device info: %w", err)
			}
		}
		for _, c := range b.Controls {
			if err := applyControl(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write device data: %w", err)
	}
	return nil
}

func jsonOrEmpty(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("{}")
	}
	return b
}

func applyControl(ctx context.Context, tx DB, c devicedata.ControlChange) error {
	if c.Params == nil {
		var err error
		if c.ClientToken == "" {
			_, err = tx.Exec(ctx, `DELETE FROM device_controls WHERE product_id = $1 AND device_name = $2`,
				c.ProductID, c.DeviceName)
		} else {
			_, err = tx.Exec(ctx, `DELETE FROM device_controls WHERE product_id = $1 AND device_name = $2 AND client_token = $3`,
				c.ProductID, c.DeviceName, c.ClientToken)
		}
		if err != nil {
			return fmt.Errorf("clear control: %w", err)
		}
		return nil
	}
	merged := map[string]json.RawMessage{}
	var old string
	err := tx.QueryRow(ctx, `SELECT params FROM device_controls WHERE product_id = $1 AND device_name = $2`,
		c.ProductID, c.DeviceName).Scan(&old)
	switch {
	case errors.Is(err, ErrNoRows):
	case err != nil:
		return fmt.Errorf("read control: %w", err)
	default:
		if err := json.Unmarshal([]byte(old), &merged); err != nil {
			merged = map[string]json.RawMessage{}
		}
	}
	for k, v := range c.Params {
		merged[k] = v
	}
	params, err := json.Marshal(merged)
	if err != nil {
		return fmt.Errorf("encode control: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO device_controls (product_id, device_name, params, client_token, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (product_id, device_name) DO UPDATE
		SET params = excluded.params, client_token = excluded.client_token, updated_at = excluded.updated_at`,
		c.ProductID, c.DeviceName, string(params), c.ClientToken, millis(c.At)); err != nil {
		return fmt.Errorf("write control: %w", err)
	}
	return nil
}

// LatestValues returns the latest reported values of a device, by id: the
// stored latest values merged with the device's staged reports, as the
// compaction will merge them. One statement reads both tables, so that a
// compaction running meanwhile is seen either entirely or not at all.
func (s *Store) LatestValues(ctx context.Context, productID, deviceName string) ([]devicedata.PropertyValue, error) {
	// id is 0 for a stored latest value; value is params for a staged report.
	rows, err := s.db.Query(ctx, `SELECT 0, property_id, value, updated_at FROM device_properties
			WHERE product_id = $1 AND device_name = $2
		UNION ALL
		SELECT id, '', params, ts FROM report_log WHERE product_id = $1 AND device_name = $2`,
		productID, deviceName)
	if err != nil {
		return nil, fmt.Errorf("latest values of %s/%s: %w", productID, deviceName, err)
	}
	defer rows.Close()
	latest := make(map[latestKey]latestValue)
	var staged []stagedReport
	for rows.Next() {
		var id, at int64
		var prop, value string
		if err := rows.Scan(&id, &prop, &value, &at); err != nil {
			return nil, fmt.Errorf("latest values of %s/%s: %w", productID, deviceName, err)
		}
		if id != 0 {
			staged = append(staged, stagedReport{id: id, productID: productID, deviceName: deviceName, ts: at, params: value})
			continue
		}
		latest[latestKey{productID, deviceName, prop}] = latestValue{value: value, ts: at}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("latest values of %s/%s: %w", productID, deviceName, err)
	}
	for k, v := range newestValues(staged) {
		if old, ok := latest[k]; !ok || v.replaces(old) {
			latest[k] = v
		}
	}
	out := make([]devicedata.PropertyValue, 0, len(latest))
	for k, v := range latest {
		out = append(out, devicedata.PropertyValue{ID: k.propertyID, Value: json.RawMessage(v.value), UpdatedAt: fromMillis(v.ts)})
	}
	slices.SortFunc(out, func(a, b devicedata.PropertyValue) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// PendingControl returns the device's pending control, if any.
func (s *Store) PendingControl(ctx context.Context, productID, deviceName string) (devicedata.Control, bool, error) {
	var c devicedata.Control
	var params string
	var at int64
	err := s.db.QueryRow(ctx, `SELECT params, client_token, updated_at FROM device_controls
		WHERE product_id = $1 AND device_name = $2`, productID, deviceName).Scan(&params, &c.ClientToken, &at)
	if errors.Is(err, ErrNoRows) {
		return devicedata.Control{}, false, nil
	}
	if err != nil {
		return devicedata.Control{}, false, fmt.Errorf("control of %s/%s: %w", productID, deviceName, err)
	}
	c.Params, c.UpdatedAt = json.RawMessage(params), fromMillis(at)
	return c, true, nil
}

// DeviceInfo returns the device's last report_info params, if any.
func (s *Store) DeviceInfo(ctx context.Context, productID, deviceName string) (devicedata.Info, bool, error) {
	in := devicedata.Info{ProductID: productID, DeviceName: deviceName}
	var info string
	var at int64
	err := s.db.QueryRow(ctx, `SELECT info, updated_at FROM device_infos WHERE product_id = $1 AND device_name = $2`,
		productID, deviceName).Scan(&info, &at)
	if errors.Is(err, ErrNoRows) {
		return devicedata.Info{}, false, nil
	}
	if err != nil {
		return devicedata.Info{}, false, fmt.Errorf("info of %s/%s: %w", productID, deviceName, err)
	}
	in.Info, in.At = json.RawMessage(info), fromMillis(at)
	return in, true, nil
}

func limitOrMax(n int) int64 {
	if n <= 0 {
		return math.MaxInt64
	}
	return int64(n)
}

// EventHistory returns events newest first and the total matching q without
// its cursor.
func (s *Store) EventHistory(ctx context.Context, q devicedata.EventQuery) ([]devicedata.EventRecord, int64, error) {
	var w where
	w.add("product_id = ?", q.ProductID)
	w.add("device_name = ?", q.DeviceName)
	w.add("ts >= ?", q.From.UnixMilli())
	w.add("ts <= ?", q.To.UnixMilli())
	if q.EventID != "" {
		w.add("event_id = ?", q.EventID)
	}
	if q.Type != "" {
		w.add("type = ?", q.Type)
	}
	var total int64
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM event_history`+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count events: %w", err)
	}
	if !q.BeforeTime.IsZero() {
		w.add("(ts < ? OR (ts = ? AND id < ?))", q.BeforeTime.UnixMilli(), q.BeforeTime.UnixMilli(), q.BeforeSeq)
	}
	w.args = append(w.args, limitOrMax(q.Limit))
	rows, err := s.db.Query(ctx, `SELECT id, event_id, type, ts, params FROM event_history`+w.String()+
		fmt.Sprintf(` ORDER BY ts DESC, id DESC LIMIT $%d`, len(w.args)), w.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("event history: %w", err)
	}
	defer rows.Close()
	var out []devicedata.EventRecord
	for rows.Next() {
		e := devicedata.EventRecord{ProductID: q.ProductID, DeviceName: q.DeviceName}
		var ts int64
		var params string
		if err := rows.Scan(&e.Seq, &e.EventID, &e.Type, &ts, &params); err != nil {
			return nil, 0, fmt.Errorf("event history: %w", err)
		}
		e.At, e.Params = time.UnixMilli(ts).UTC(), json.RawMessage(params)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("event history: %w", err)
	}
	return out, total, nil
}

// DeleteHistoryBefore deletes property and event history older than t,
// staged reports included (their values still count for the latest values).
// A report's values count as one row.
func (s *Store) DeleteHistoryBefore(ctx context.Context, t time.Time) (int64, error) {
	cut := t.UnixMilli()
	n1, err := s.db.Exec(ctx, `DELETE FROM report_history WHERE ts < $1`, cut)
	if err != nil {
		return 0, fmt.Errorf("delete property history: %w", err)
	}
	n2, err := s.pruneStaged(ctx, cut)
	if err != nil {
		return n1, fmt.Errorf("delete staged property history: %w", err)
	}
	n3, err := s.db.Exec(ctx, `DELETE FROM event_history WHERE ts < $1`, cut)
	if err != nil {
		return n1 + n2, fmt.Errorf("delete event history: %w", err)
	}
	return n1 + n2 + n3, nil
}
