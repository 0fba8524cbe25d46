package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/thingo-iot/thingo/internal/devicedata"
)

var _ devicedata.RecordStore = (*Store)(nil)

// WriteRecords appends raw uplinks, keeping the newest keep per device, and
// applies call replies to calls not answered yet, in one transaction.
func (s *Store) WriteRecords(ctx context.Context, raw []devicedata.RawRecord, replies []devicedata.CallReply, keep int) error {
	err := s.db.Tx(ctx, func(tx DB) error {
		if len(raw) > 0 {
			rows := make([][]any, len(raw))
			type dev struct{ pid, dn string }
			devs := map[dev]bool{}
			for i, r := range raw {
				p := r.Payload
				if p == nil {
					p = []byte{}
				}
				rows[i] = []any{r.ProductID, r.DeviceName, millis(r.At), p}
				devs[dev{r.ProductID, r.DeviceName}] = true
			}
			if err := insertRows(ctx, tx, `INSERT INTO device_raw (product_id, device_name, ts, payload) VALUES `, "", rows); err != nil {
				return fmt.Errorf("raw data: %w", err)
			}
			if keep > 0 {
				for d := range devs {
					if _, err := tx.Exec(ctx, `DELETE FROM device_raw WHERE product_id = $1 AND device_name = $2 AND id <=
						(SELECT id FROM device_raw WHERE product_id = $1 AND device_name = $2 ORDER BY id DESC LIMIT 1 OFFSET $3)`,
						d.pid, d.dn, int64(keep)); err != nil {
						return fmt.Errorf("trim raw data: %w", err)
					}
				}
			}
		}
		for _, r := range replies {
			resp := ""
			if len(r.Response) > 0 {
				resp = string(r.Response)
			}
			if _, err := tx.Exec(ctx, `UPDATE device_calls SET replied_at = $4, code = $5, status = $6, response = $7
				WHERE product_id = $1 AND device_name = $2 AND client_token = $3 AND replied_at = 0`,
				r.ProductID, r.DeviceName, r.ClientToken, millis(r.At), int64(r.Code), r.Status, resp); err != nil {
				return fmt.Errorf("call reply: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write device records: %w", err)
	}
	return nil
}

// RawRecords returns a device's raw uplinks, newest first, and the number
// stored.
func (s *Store) RawRecords(ctx context.Context, q devicedata.RawQuery) ([]devicedata.RawRecord, int64, error) {
	var total int64
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM device_raw WHERE product_id = $1 AND device_name = $2`,
		q.ProductID, q.DeviceName).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("raw data of %s/%s: %w", q.ProductID, q.DeviceName, err)
	}
	before := q.BeforeSeq
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := s.db.Query(ctx, `SELECT id, ts, payload FROM device_raw
		WHERE product_id = $1 AND device_name = $2 AND id < $3 ORDER BY id DESC LIMIT $4`,
		q.ProductID, q.DeviceName, before, limitOrMax(q.Limit))
	if err != nil {
		return nil, 0, fmt.Errorf("raw data of %s/%s: %w", q.ProductID, q.DeviceName, err)
	}
	defer rows.Close()
	var out []devicedata.RawRecord
	for rows.Next() {
		r := devicedata.RawRecord{ProductID: q.ProductID, DeviceName: q.DeviceName}
		var ts int64
		if err := rows.Scan(&r.Seq, &ts, &r.Payload); err != nil {
			return nil, 0, fmt.Errorf("raw data of %s/%s: %w", q.ProductID, q.DeviceName, err)
		}
		r.At = fromMillis(ts)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("raw data of %s/%s: %w", q.ProductID, q.DeviceName, err)
	}
	return out, total, nil
}

// PutCall records a call sent to a device, replacing a record with the
// same token.
func (s *Store) PutCall(ctx context.Context, c devicedata.CallRecord) error {
	resp := ""
	if len(c.Response) > 0 {
		resp = string(c.Response)
	}
	if _, err := s.db.Exec(ctx, `INSERT INTO device_calls (product_id, device_name, client_token, method, name, request,
			created_at, replied_at, code, status, response)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (product_id, device_name, client_token) DO UPDATE SET method = excluded.method,
			name = excluded.name, request = excluded.request, created_at = excluded.created_at,
			replied_at = excluded.replied_at, code = excluded.code, status = excluded.status, response = excluded.response`,
		c.ProductID, c.DeviceName, c.ClientToken, c.Method, c.Name, string(jsonOrEmpty(c.Request)),
		millis(c.CreatedAt), millis(c.RepliedAt), int64(c.Code), c.Status, resp); err != nil {
		return fmt.Errorf("put call %s of %s/%s: %w", c.ClientToken, c.ProductID, c.DeviceName, err)
	}
	return nil
}

// Call returns one call record, or devicedata.ErrCallNotFound.
func (s *Store) Call(ctx context.Context, productID, deviceName, clientToken string) (devicedata.CallRecord, error) {
	c := devicedata.CallRecord{ProductID: productID, DeviceName: deviceName, ClientToken: clientToken}
	var req, resp string
	var created, replied, code int64
	err := s.db.QueryRow(ctx, `SELECT method, name, request, created_at, replied_at, code, status, response
		FROM device_calls WHERE product_id = $1 AND device_name = $2 AND client_token = $3`,
		productID, deviceName, clientToken).Scan(&c.Method, &c.Name, &req, &created, &replied, &code, &c.Status, &resp)
	if errors.Is(err, ErrNoRows) {
		return devicedata.CallRecord{}, fmt.Errorf("call %s of %s/%s: %w", clientToken, productID, deviceName, devicedata.ErrCallNotFound)
	}
	if err != nil {
		return devicedata.CallRecord{}, fmt.Errorf("call %s of %s/%s: %w", clientToken, productID, deviceName, err)
	}
	c.Request, c.CreatedAt, c.RepliedAt, c.Code = json.RawMessage(req), fromMillis(created), fromMillis(replied), int(code)
	if resp != "" {
		c.Response = json.RawMessage(resp)
	}
	return c, nil
}

// DeleteRecordsBefore deletes raw uplinks and call records older than t.
func (s *Store) DeleteRecordsBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	for _, q := range []string{
		`DELETE FROM device_raw WHERE ts < $1`,
		`DELETE FROM device_calls WHERE created_at < $1`,
	} {
		res, err := s.db.Exec(ctx, q, millis(t))
		if err != nil {
			return n, fmt.Errorf("delete old device records: %w", err)
		}
		n += res
	}
	return n, nil
}
