package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/registry"
)

// testDeviceData checks the devicedata.Store side of a store: versioned
// models, batches, latest values, pending control, info and history.
func testDeviceData(t *testing.T, rs registry.Store) {
	s, ok := rs.(devicedata.Store)
	if !ok {
		t.Fatalf("%T does not implement devicedata.Store", rs)
	}
	ctx := context.Background()
	seed(t, rs)

	t.Run("Models", func(t *testing.T) {
		_, err := s.LatestModel(ctx, "PRODUCT01")
		wantErr(t, "no model", err, devicedata.ErrNoModel)
		_, err = s.PutModel(ctx, "NOPRODUCT0", "{}", at(0))
		wantErr(t, "missing product", err, registry.ErrProductNotFound)
		for i, schema := range []string{`{"v":1}`, `{"v":2}`} {
			v, err := s.PutModel(ctx, "PRODUCT01", schema, at(i+1))
			mustNil(t, err)
			if v != int64(i+1) {
				t.Errorf("version = %d, want %d", v, i+1)
			}
		}
		m, err := s.LatestModel(ctx, "PRODUCT01")
		mustNil(t, err)
		want := devicedata.ModelRecord{ProductID: "PRODUCT01", Version: 2, Schema: `{"v":2}`, CreatedAt: at(1), UpdatedAt: at(2)}
		if m != want {
			t.Errorf("LatestModel = %+v, want %+v", m, want)
		}
	})

	t.Run("Values", func(t *testing.T) {
		rep := func(minute int, vals ...string) devicedata.Report {
			r := devicedata.Report{ProductID: "PRODUCT01", DeviceName: "dev", At: at(minute)}
			for i := 0; i < len(vals); i += 2 {
				r.Values = append(r.Values, devicedata.PropertyValue{ID: vals[i], Value: json.RawMessage(vals[i+1])})
			}
			return r
		}
		mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Reports: []devicedata.Report{
			rep(2, "a", "1", "b", `"x"`), rep(1, "a", "0"), rep(3, "c", `{"k":[1,2]}`),
		}}))
		vals, err := s.LatestValues(ctx, "PRODUCT01", "dev")
		mustNil(t, err)
		want := []devicedata.PropertyValue{
			{ID: "a", Value: json.RawMessage("1"), UpdatedAt: at(2)}, // an older report does not win
			{ID: "b", Value: json.RawMessage(`"x"`), UpdatedAt: at(2)},
			{ID: "c", Value: json.RawMessage(`{"k":[1,2]}`), UpdatedAt: at(3)},
		}
		if len(vals) != len(want) {
			t.Fatalf("LatestValues = %+v, want %+v", vals, want)
		}
		for i := range want {
			if vals[i].ID != want[i].ID || string(vals[i].Value) != string(want[i].Value) || !vals[i].UpdatedAt.Equal(want[i].UpdatedAt) {
				t.Errorf("value %d = %+v, want %+v", i, vals[i], want[i])
			}
		}

		pts, err := s.PropertyHistory(ctx, devicedata.HistoryQuery{ProductID: "PRODUCT01", DeviceName: "dev",
			PropertyID: "a", From: at(0), To: at(10), Limit: 10})
		mustNil(t, err)
		if len(pts) != 2 || string(pts[0].Value) != "0" || string(pts[1].Value) != "1" {
			t.Errorf("history of a = %+v, want 0 then 1", pts)
		}
		next, err := s.PropertyHistory(ctx, devicedata.HistoryQuery{ProductID: "PRODUCT01", DeviceName: "dev",
			PropertyID: "a", From: at(0), To: at(10), AfterTime: pts[0].At, AfterSeq: pts[0].Seq, Limit: 10})
		mustNil(t, err)
		if len(next) != 1 || string(next[0].Value) != "1" {
			t.Errorf("history after first = %+v, want the second point", next)
		}
	})

	t.Run("HistoryPaging", func(t *testing.T) { testHistoryPaging(t, s) })

	t.Run("Control", func(t *testing.T) {
		dev := func(c devicedata.ControlChange) devicedata.ControlChange {
			c.ProductID, c.DeviceName, c.At = "PRODUCT01", "ctl", at(1)
			return c
		}
		_, ok, err := s.PendingControl(ctx, "PRODUCT01", "ctl")
		mustNil(t, err)
		if ok {
			t.Error("pending control before any")
		}
		mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Controls: []devicedata.ControlChange{
			dev(devicedata.ControlChange{Params: map[string]json.RawMessage{"a": json.RawMessage("1"), "b": json.RawMessage("2")}, ClientToken: "t1"}),
			dev(devicedata.ControlChange{Params: map[string]json.RawMessage{"b": json.RawMessage("3")}, ClientToken: "t2"}),
			dev(devicedata.ControlChange{ClientToken: "t1"}), // stale acknowledgement: kept
		}}))
		c, ok, err := s.PendingControl(ctx, "PRODUCT01", "ctl")
		mustNil(t, err)
		if !ok || c.ClientToken != "t2" || string(c.Params) != `{"a":1,"b":3}` {
			t.Errorf("PendingControl = %+v %v, want merged a:1 b:3 with t2", c, ok)
		}
		mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Controls: []devicedata.ControlChange{dev(devicedata.ControlChange{})}}))
		if _, ok, _ := s.PendingControl(ctx, "PRODUCT01", "ctl"); ok {
			t.Error("pending control after clear")
		}
	})

	t.Run("InfoAndEvents", func(t *testing.T) {
		mustNil(t, s.WriteBatch(ctx, devicedata.Batch{
			Infos: []devicedata.Info{{ProductID: "PRODUCT01", DeviceName: "ev", Info: json.RawMessage(`{"imei":"1"}`), At: at(1)}},
			Events: []devicedata.EventRecord{
				{ProductID: "PRODUCT01", DeviceName: "ev", EventID: "e1", Type: "info", At: at(1), Params: json.RawMessage(`{"x":1}`)},
				{ProductID: "PRODUCT01", DeviceName: "ev", EventID: "e2", Type: "fault", At: at(2)},
				{ProductID: "PRODUCT01", DeviceName: "ev", EventID: "e1", Type: "info", At: at(3)},
			},
		}))
		in, ok, err := s.DeviceInfo(ctx, "PRODUCT01", "ev")
		mustNil(t, err)
		if !ok || string(in.Info) != `{"imei":"1"}` || !in.At.Equal(at(1)) {
			t.Errorf("DeviceInfo = %+v %v", in, ok)
		}
		q := devicedata.EventQuery{ProductID: "PRODUCT01", DeviceName: "ev", From: at(0), To: at(10), Limit: 2}
		evs, total, err := s.EventHistory(ctx, q)
		mustNil(t, err)
		if total != 3 || len(evs) != 2 || !evs[0].At.Equal(at(3)) || evs[1].EventID != "e2" || string(evs[1].Params) != "{}" {
			t.Errorf("EventHistory = %+v total %d, want newest two of 3", evs, total)
		}
		q.BeforeTime, q.BeforeSeq = evs[1].At, evs[1].Seq
		rest, _, err := s.EventHistory(ctx, q)
		mustNil(t, err)
		if len(rest) != 1 || string(rest[0].Params) != `{"x":1}` {
			t.Errorf("next page = %+v", rest)
		}
		typed, total, err := s.EventHistory(ctx, devicedata.EventQuery{ProductID: "PRODUCT01", DeviceName: "ev",
			Type: "info", EventID: "e1", From: at(0), To: at(10)})
		mustNil(t, err)
		if total != 2 || len(typed) != 2 {
			t.Errorf("info e1 events = %d (total %d), want 2", len(typed), total)
		}

		n, err := s.DeleteHistoryBefore(ctx, at(2).Add(time.Millisecond))
		mustNil(t, err)
		if n < 2 {
			t.Errorf("DeleteHistoryBefore removed %d rows, want >= 2", n)
		}
		_, total, err = s.EventHistory(ctx, devicedata.EventQuery{ProductID: "PRODUCT01", DeviceName: "ev", From: at(0), To: at(10)})
		mustNil(t, err)
		if total != 1 {
			t.Errorf("events after retention = %d, want 1", total)
		}
	})
}

// testHistoryPaging checks property history over reports of several
// values: only the asked property, values byte for byte, (time, seq)
// paging, and a key that only appears nested in another value.
func testHistoryPaging(t *testing.T, s devicedata.Store) {
	ctx := context.Background()
	rep := func(minute int, vals ...string) devicedata.Report {
		r := devicedata.Report{ProductID: "PRODUCT01", DeviceName: "hist", At: at(minute)}
		for i := 0; i < len(vals); i += 2 {
			r.Values = append(r.Values, devicedata.PropertyValue{ID: vals[i], Value: json.RawMessage(vals[i+1])})
		}
		return r
	}
	mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Reports: []devicedata.Report{
		rep(1, "a", "1", "a_b", "7"),
		rep(2, "c", `{"a":9}`),
		rep(2, "a", "2", "b", `"x"`),
		rep(3, "b", "4"),
		rep(3, "c", `{"a":8}`),
		rep(4, "a", `{"k":[1,2]}`, `q"k`, "5"),
		rep(5, "b", "null"),
	}}))
	query := func(id string, limit int, after devicedata.HistoryPoint) []devicedata.HistoryPoint {
		t.Helper()
		pts, err := s.PropertyHistory(ctx, devicedata.HistoryQuery{ProductID: "PRODUCT01", DeviceName: "hist",
			PropertyID: id, From: at(0), To: at(10), AfterTime: after.At, AfterSeq: after.Seq, Limit: limit})
		mustNil(t, err)
		return pts
	}
	values := func(pts []devicedata.HistoryPoint) []string {
		out := []string{}
		for _, p := range pts {
			out = append(out, p.At.Sub(at(0)).String()+"="+string(p.Value))
		}
		return out
	}
	tests := []struct {
		id    string
		limit int
		want  []string
	}{
		{"a", 0, []string{"1m0s=1", "2m0s=2", `4m0s={"k":[1,2]}`}},
		{"a", 10, []string{"1m0s=1", "2m0s=2", `4m0s={"k":[1,2]}`}},
		{"b", 0, []string{`2m0s="x"`, "3m0s=4", "5m0s=null"}},
		{"c", 1, []string{`2m0s={"a":9}`}},
		{"a_b", 0, []string{"1m0s=7"}},
		{"a%", 0, []string{}},
		{"A", 0, []string{}}, // SQLite LIKE ignores case; the lookup does not
		{`q"k`, 0, []string{"4m0s=5"}},
		{"missing", 5, []string{}},
	}
	for _, tc := range tests {
		if got := values(query(tc.id, tc.limit, devicedata.HistoryPoint{})); !slices.Equal(got, tc.want) {
			t.Errorf("history of %q (limit %d) = %v, want %v", tc.id, tc.limit, got, tc.want)
		}
	}
	// One point at a time: the pages continue after the previous point and
	// skip the reports where "a" is only nested.
	var got []devicedata.HistoryPoint
	var after devicedata.HistoryPoint
	for range 5 {
		page := query("a", 1, after)
		if len(page) == 0 {
			break
		}
		if len(page) != 1 {
			t.Fatalf("page of limit 1 = %v", values(page))
		}
		got = append(got, page[0])
		after = page[0]
	}
	if want := []string{"1m0s=1", "2m0s=2", `4m0s={"k":[1,2]}`}; !slices.Equal(values(got), want) {
		t.Errorf("paged history of a = %v, want %v", values(got), want)
	}
}
