package storetest

import (
	"context"
	"encoding/json"
	"fmt"
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

// OldReport is a report_history row of schema version 9, before reports
// were staged (migration 0010).
type OldReport struct {
	ID                    int64
	ProductID, DeviceName string
	TS                    int64 // unix milliseconds
	Params                string
}

// OldLatest is a device_properties row of schema version 9.
type OldLatest struct {
	ProductID, DeviceName, PropertyID, Value string
	UpdatedAt                                int64 // unix milliseconds
}

// OldReports and OldLatestValues are what an adapter's upgrade test inserts
// into a database migrated up to version 9, before opening it with every
// migration and calling CheckUpgradedReports. The ids have gaps and the
// highest is not the newest report's.
var (
	OldReports = []OldReport{
		{3, "PRODUCT01", "dev", 60_000, `{"a":1,"b":"x"}`},
		{41, "PRODUCT01", "dev", 120_000, `{"a":2}`},
		{40, "PRODUCT01", "other", 180_000, `{"a":3}`},
	}
	OldLatestValues = []OldLatest{
		{"PRODUCT01", "dev", "a", "2", 120_000},
		{"PRODUCT01", "dev", "b", `"x"`, 60_000},
		{"PRODUCT01", "other", "a", "3", 180_000},
	}
)

// CheckUpgradedReports checks that a store opened on a database holding
// OldReports and OldLatestValues answers them as before, stages new reports
// with ids above the old ones, and compacts them next to the old rows.
func CheckUpgradedReports(t *testing.T, s devicedata.Store) {
	t.Helper()
	ctx := context.Background()
	ms := func(n int64) time.Time { return time.UnixMilli(n).UTC() }
	hist := func(device, id string) []devicedata.HistoryPoint {
		t.Helper()
		pts, err := s.PropertyHistory(ctx, devicedata.HistoryQuery{ProductID: "PRODUCT01", DeviceName: device,
			PropertyID: id, From: ms(0), To: ms(1 << 40)})
		mustNil(t, err)
		return pts
	}
	render := func(pts []devicedata.HistoryPoint) []string {
		out := []string{}
		for _, p := range pts {
			out = append(out, fmt.Sprintf("%d:%s@%d", p.Seq, p.Value, p.At.UnixMilli()))
		}
		return out
	}
	values := func(device string) []string {
		t.Helper()
		vals, err := s.LatestValues(ctx, "PRODUCT01", device)
		mustNil(t, err)
		out := []string{}
		for _, v := range vals {
			out = append(out, fmt.Sprintf("%s=%s@%d", v.ID, v.Value, v.UpdatedAt.UnixMilli()))
		}
		return out
	}
	check := func(when string, wantA, wantValues []string) {
		t.Helper()
		if got := render(hist("dev", "a")); !slices.Equal(got, wantA) {
			t.Errorf("%s: history of a = %v, want %v", when, got, wantA)
		}
		if got := values("dev"); !slices.Equal(got, wantValues) {
			t.Errorf("%s: LatestValues = %v, want %v", when, got, wantValues)
		}
	}
	check("upgraded", []string{"3:1@60000", "41:2@120000"}, []string{"a=2@120000", `b="x"@60000`})

	// A newer a and an older b: a replaces the stored value, b does not.
	mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Reports: []devicedata.Report{
		{ProductID: "PRODUCT01", DeviceName: "dev", At: ms(240_000), Values: []devicedata.PropertyValue{{ID: "a", Value: json.RawMessage("4")}}},
		{ProductID: "PRODUCT01", DeviceName: "dev", At: ms(30_000), Values: []devicedata.PropertyValue{{ID: "b", Value: json.RawMessage(`"old"`)}}},
	}}))
	pts := hist("dev", "a")
	if len(pts) != 3 || pts[2].Seq <= 41 {
		t.Fatalf("history of a after a new report = %v, want a third point with a seq above 41", render(pts))
	}
	wantA := append(render(pts[:2]), fmt.Sprintf("%d:4@240000", pts[2].Seq))
	wantValues := []string{"a=4@240000", `b="x"@60000`}
	check("staged", wantA, wantValues)
	n, err := s.CompactReports(ctx, 100)
	mustNil(t, err)
	if n != 2 {
		t.Errorf("CompactReports moved %d reports, want the 2 new ones", n)
	}
	check("compacted", wantA, wantValues)
	if got := render(hist("other", "a")); !slices.Equal(got, []string{"40:3@180000"}) {
		t.Errorf("history of the other device = %v", got)
	}

	// Ids keep growing once nothing is staged.
	mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Reports: []devicedata.Report{{ProductID: "PRODUCT01", DeviceName: "dev",
		At: ms(240_000), Values: []devicedata.PropertyValue{{ID: "a", Value: json.RawMessage("5")}}}}}))
	if pts := hist("dev", "a"); len(pts) != 4 || pts[3].Seq <= pts[2].Seq {
		t.Errorf("history of a after another report = %v, want a fourth point with a higher seq", render(pts))
	}
}
