package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/thingo-iot/thingo/internal/devicedata"
)

// Property history is stored as one row per report, staged in report_log
// and compacted into report_history (reportlog.go): params is the report's
// values as one JSON object, {"id":value,...}, written by
// appendReportParams (no spaces, keys in report order). A history query for
// one property selects the device's rows of both tables in the time range
// whose params contain the key and takes the value out in Go, so the value
// comes back byte for byte as it was reported.

// maxRowsPerStatement bounds the rows of one multi-row INSERT: 128 rows of 5
// columns stay far below SQLite's and PostgreSQL's parameter limits.
const maxRowsPerStatement = 128

// writeReports stages the reports: one report_log row each (see
// reportlog.go; the latest values are applied when the rows are compacted).
// It uses multi-row INSERTs of power-of-two row counts, so that a batch
// costs a few statements and there are few distinct statement texts to
// prepare (the adapters cache prepared statements by text).
func writeReports(ctx context.Context, tx DB, reports []devicedata.Report) error {
	var rows [][]any
	var buf []byte
	for _, r := range reports {
		if len(r.Values) == 0 {
			continue
		}
		start := len(buf)
		buf = appendReportParams(buf, r.Values)
		rows = append(rows, []any{r.ProductID, r.DeviceName, millis(r.At), string(buf[start:])})
	}
	if len(rows) == 0 {
		return nil
	}
	if err := insertRows(ctx, tx, `INSERT INTO report_log (product_id, device_name, ts, params) VALUES `,
		"", rows); err != nil {
		return fmt.Errorf("stage reports: %w", err)
	}
	return nil
}

// appendReportParams appends values as one JSON object. A property that
// appears more than once keeps its last value (a JSON object has unique
// keys). Values are JSON already; an empty one is stored as null.
func appendReportParams(b []byte, values []devicedata.PropertyValue) []byte {
	b = append(b, '{')
	first := true
	var last map[string]int // index of each id's last value, for long reports
	if len(values) > 16 {
		last = make(map[string]int, len(values))
		for i, v := range values {
			last[v.ID] = i
		}
	}
	for i, v := range values {
		if last != nil && last[v.ID] != i ||
			last == nil && slices.ContainsFunc(values[i+1:], func(o devicedata.PropertyValue) bool { return o.ID == v.ID }) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, v.ID)
		b = append(b, ':')
		if len(v.Value) == 0 {
			b = append(b, "null"...)
		} else {
			b = append(b, v.Value...)
		}
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, everything else (UTF-8 included) as is.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// plainKey reports whether appendJSONString writes id unescaped, so that
// `"id":` is a substring of every params object holding it, in both the
// rows written here and the ones the 0009 migration converted.
func plainKey(id string) bool {
	for i := 0; i < len(id); i++ {
		if c := id[i]; c == '"' || c == '\\' || c < 0x20 {
			return false
		}
	}
	return true
}

// likeKeyPattern is a LIKE pattern (escape character '\') matching text
// that contains `"id":`.
func likeKeyPattern(id string) string {
	var b strings.Builder
	b.WriteString(`%"`)
	for _, c := range []byte(id) {
		if c == '%' || c == '_' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteString(`":%`)
	return b.String()
}

// insertRows runs head + "($1, ..), (..)" + tail for rows, in chunks of a
// power of two rows, at most maxRowsPerStatement. Every row has the same
// number of columns.
func insertRows(ctx context.Context, tx DB, head, tail string, rows [][]any) error {
	for len(rows) > 0 {
		n := maxRowsPerStatement
		for n > len(rows) {
			n /= 2
		}
		var q strings.Builder
		q.WriteString(head)
		args := make([]any, 0, n*len(rows[0]))
		for i, row := range rows[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteByte('(')
			for j, v := range row {
				if j > 0 {
					q.WriteString(", ")
				}
				args = append(args, v)
				q.WriteByte('$')
				q.WriteString(strconv.Itoa(len(args)))
			}
			q.WriteByte(')')
		}
		q.WriteString(tail)
		if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// PropertyHistory returns property history oldest first: the values of
// q.PropertyID in the device's reports, each report's row id as Seq. Staged
// and compacted reports are read together, in (ts, id) order.
func (s *Store) PropertyHistory(ctx context.Context, q devicedata.HistoryQuery) ([]devicedata.HistoryPoint, error) {
	limit := limitOrMax(q.Limit)
	cursor := !q.AfterTime.IsZero()
	afterTS, afterID := q.AfterTime.UnixMilli(), q.AfterSeq
	var out []devicedata.HistoryPoint
	for int64(len(out)) < limit {
		var w where
		w.add("product_id = ?", q.ProductID)
		w.add("device_name = ?", q.DeviceName)
		w.add("ts >= ?", q.From.UnixMilli())
		w.add("ts <= ?", q.To.UnixMilli())
		if plainKey(q.PropertyID) {
			// A prefilter: a nested object may hold the same key, so the
			// value is still looked up in Go below.
			w.add(`params LIKE ? ESCAPE '\'`, likeKeyPattern(q.PropertyID))
		}
		if cursor {
			w.add("(ts > ? OR (ts = ? AND id > ?))", afterTS, afterTS, afterID)
		}
		want := limit - int64(len(out))
		w.args = append(w.args, want)
		scanned, err := s.historyPage(ctx, w, q.PropertyID, &out, &afterTS, &afterID)
		if err != nil {
			return nil, fmt.Errorf("property history: %w", err)
		}
		if scanned < want {
			break // no more rows
		}
		cursor = true
	}
	return out, nil
}

// historyPage runs one page of a history query, appends the points that
// hold id to out and moves the cursor to the last row read. It returns the
// number of rows read. The last argument of w is the page size.
//
// The page is read from report_history and report_log in one statement, so
// that a row the compaction moves meanwhile is seen once. Each table's
// first rows are selected apart (report_history's through its lookup
// index) before the union is ordered, so that neither database sorts a
// device's whole history for one page. Both selects use the same
// placeholders.
func (s *Store) historyPage(ctx context.Context, w where, id string, out *[]devicedata.HistoryPoint, afterTS, afterID *int64) (int64, error) {
	page := fmt.Sprintf(` ORDER BY ts, id LIMIT $%d`, len(w.args))
	rows, err := s.db.Query(ctx,
		`SELECT id, ts, params FROM (SELECT id, ts, params FROM report_history`+w.String()+page+`) h
		UNION ALL
		SELECT id, ts, params FROM (SELECT id, ts, params FROM report_log`+w.String()+page+`) l`+page,
		w.args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		var seq, ts int64
		var params string
		if err := rows.Scan(&seq, &ts, &params); err != nil {
			return n, err
		}
		n++
		*afterTS, *afterID = ts, seq
		v, ok, err := paramValue(params, id)
		if err != nil {
			return n, fmt.Errorf("report %d: %w", seq, err)
		}
		if ok {
			*out = append(*out, devicedata.HistoryPoint{Seq: seq, At: time.UnixMilli(ts).UTC(), Value: json.RawMessage(v)})
		}
	}
	return n, rows.Err()
}
