package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/devicedata"
)

// OldHistoryRow is a property_history row of the schema before migration
// 0009 (one row per reported value).
type OldHistoryRow struct {
	ID                                int64
	ProductID, DeviceName, PropertyID string
	TS                                int64 // unix milliseconds
	Value                             string
}

// OldHistory is what an adapter's upgrade test inserts into property_history
// of a database migrated up to version 8, before opening it with every
// migration and calling CheckUpgradedHistory. The values are stored as they
// came (not compacted) and the ids have gaps, as after a retention run.
var OldHistory = []OldHistoryRow{
	{5, "PRODUCT01", "dev", "a", 60_000, "1"},
	{7, "PRODUCT01", "dev", "b", 60_000, `"x \"y\""`},
	{9, "PRODUCT01", "dev", "a", 120_000, `{"k": [1, 2]}`},
	{12, "PRODUCT01", "other", "a", 120_000, "3"},
	{13, "PRODUCT01", "dev", `q"k`, 180_000, "null"},
}

// CheckUpgradedHistory checks that a store opened on a database holding
// OldHistory answers the old rows as before (values, times, ids as Seq,
// paging) and keeps new rows after them.
func CheckUpgradedHistory(t *testing.T, s devicedata.Store) {
	t.Helper()
	ctx := context.Background()
	ms := func(n int64) time.Time { return time.UnixMilli(n).UTC() }
	q := func(device, id string, after devicedata.HistoryPoint) []devicedata.HistoryPoint {
		t.Helper()
		pts, err := s.PropertyHistory(ctx, devicedata.HistoryQuery{ProductID: "PRODUCT01", DeviceName: device,
			PropertyID: id, From: ms(0), To: ms(1 << 40), AfterTime: after.At, AfterSeq: after.Seq, Limit: 10})
		mustNil(t, err)
		return pts
	}
	eq := func(name string, got, want []devicedata.HistoryPoint) {
		t.Helper()
		if !slices.EqualFunc(got, want, func(a, b devicedata.HistoryPoint) bool {
			return a.Seq == b.Seq && a.At.Equal(b.At) && string(a.Value) == string(b.Value)
		}) {
			t.Errorf("%s = %+v, want %+v", name, got, want)
		}
	}
	pt := func(seq, ts int64, v string) devicedata.HistoryPoint {
		return devicedata.HistoryPoint{Seq: seq, At: ms(ts), Value: json.RawMessage(v)}
	}
	eq("history of a", q("dev", "a", devicedata.HistoryPoint{}),
		[]devicedata.HistoryPoint{pt(5, 60_000, "1"), pt(9, 120_000, `{"k": [1, 2]}`)})
	eq("history of a after the first", q("dev", "a", pt(5, 60_000, "")),
		[]devicedata.HistoryPoint{pt(9, 120_000, `{"k": [1, 2]}`)})
	eq("history of b", q("dev", "b", devicedata.HistoryPoint{}), []devicedata.HistoryPoint{pt(7, 60_000, `"x \"y\""`)})
	eq(`history of q"k`, q("dev", `q"k`, devicedata.HistoryPoint{}), []devicedata.HistoryPoint{pt(13, 180_000, "null")})
	eq("history of other", q("other", "a", devicedata.HistoryPoint{}), []devicedata.HistoryPoint{pt(12, 120_000, "3")})

	mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Reports: []devicedata.Report{{ProductID: "PRODUCT01", DeviceName: "dev",
		At: ms(240_000), Values: []devicedata.PropertyValue{{ID: "a", Value: json.RawMessage("4")}}}}}))
	pts := q("dev", "a", pt(9, 120_000, ""))
	if len(pts) != 1 || pts[0].Seq <= 13 || string(pts[0].Value) != "4" {
		t.Errorf("new point after the upgrade = %+v, want value 4 with a seq above the old ids", pts)
	}
	n, err := s.DeleteHistoryBefore(ctx, ms(120_000))
	mustNil(t, err)
	if n != 2 {
		t.Errorf("DeleteHistoryBefore removed %d rows, want the 2 old rows of minute 1", n)
	}
}
