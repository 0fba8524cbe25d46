package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/registry"
)

// testDeviceRecords checks the devicedata.RecordStore side of a store: raw
// uplinks (newest N kept), call records and their replies, retention, and
// that deleting a device removes its data.
func testDeviceRecords(t *testing.T, rs registry.Store) {
	s, ok := rs.(devicedata.RecordStore)
	if !ok {
		t.Fatalf("%T does not implement devicedata.RecordStore", rs)
	}
	ds := rs.(devicedata.Store)
	ctx := context.Background()
	seed(t, rs)
	mustNil(t, rs.CreateDevice(ctx, device("PRODUCT01", "dev", 0)))

	t.Run("Raw", func(t *testing.T) {
		raw := func(minute int, p string) devicedata.RawRecord {
			return devicedata.RawRecord{ProductID: "PRODUCT01", DeviceName: "dev", At: at(minute), Payload: []byte(p)}
		}
		mustNil(t, s.WriteRecords(ctx, []devicedata.RawRecord{raw(1, "\x00a"), raw(2, "\xffb")}, nil, 3))
		mustNil(t, s.WriteRecords(ctx, []devicedata.RawRecord{raw(3, "c"), raw(4, "d"),
			{ProductID: "PRODUCT01", DeviceName: "other", At: at(4), Payload: []byte("o")}}, nil, 3))
		got, total, err := s.RawRecords(ctx, devicedata.RawQuery{ProductID: "PRODUCT01", DeviceName: "dev", Limit: 2})
		mustNil(t, err)
		if total != 3 || len(got) != 2 || string(got[0].Payload) != "d" || string(got[1].Payload) != "c" || !got[0].At.Equal(at(4)) {
			t.Fatalf("RawRecords = %+v (total %d), want d, c of 3", got, total)
		}
		more, _, err := s.RawRecords(ctx, devicedata.RawQuery{ProductID: "PRODUCT01", DeviceName: "dev", BeforeSeq: got[1].Seq, Limit: 10})
		mustNil(t, err)
		if len(more) != 1 || string(more[0].Payload) != "\xffb" {
			t.Errorf("next page = %+v, want the binary payload \\xffb (\\x00a trimmed)", more)
		}
	})

	t.Run("Calls", func(t *testing.T) {
		c := devicedata.CallRecord{ProductID: "PRODUCT01", DeviceName: "dev", ClientToken: "tok1", Method: devicedata.CallAction,
			Name: "open", Request: json.RawMessage(`{"a":1}`), CreatedAt: at(5)}
		mustNil(t, s.PutCall(ctx, c))
		got, err := s.Call(ctx, "PRODUCT01", "dev", "tok1")
		mustNil(t, err)
		if got.Replied() || got.Name != "open" || string(got.Request) != `{"a":1}` || !got.CreatedAt.Equal(at(5)) {
			t.Errorf("Call = %+v", got)
		}
		reply := func(code int, status string) devicedata.CallReply {
			return devicedata.CallReply{ProductID: "PRODUCT01", DeviceName: "dev", ClientToken: "tok1", At: at(6),
				Code: code, Status: status, Response: json.RawMessage(`{"ok":true}`)}
		}
		mustNil(t, s.WriteRecords(ctx, nil, []devicedata.CallReply{reply(0, "done")}, 0))
		mustNil(t, s.WriteRecords(ctx, nil, []devicedata.CallReply{reply(1, "late duplicate")}, 0))
		got, err = s.Call(ctx, "PRODUCT01", "dev", "tok1")
		mustNil(t, err)
		if !got.RepliedAt.Equal(at(6)) || got.Code != 0 || got.Status != "done" || string(got.Response) != `{"ok":true}` {
			t.Errorf("replied Call = %+v", got)
		}
		_, err = s.Call(ctx, "PRODUCT01", "dev", "nope")
		wantErr(t, "missing call", err, devicedata.ErrCallNotFound)
	})

	t.Run("Retention", func(t *testing.T) {
		mustNil(t, s.PutCall(ctx, devicedata.CallRecord{ProductID: "PRODUCT01", DeviceName: "dev", ClientToken: "old",
			Method: devicedata.CallAlertFence, CreatedAt: at(0)}))
		n, err := s.DeleteRecordsBefore(ctx, at(3))
		mustNil(t, err)
		if n != 2 {
			t.Errorf("DeleteRecordsBefore deleted %d rows, want 2 (the old call, the raw record of minute 2)", n)
		}
	})

	t.Run("DeviceDelete", func(t *testing.T) {
		mustNil(t, ds.WriteBatch(ctx, devicedata.Batch{
			Reports: []devicedata.Report{{ProductID: "PRODUCT01", DeviceName: "dev", At: at(7),
				Values: []devicedata.PropertyValue{{ID: "a", Value: json.RawMessage("1")}}}},
			Events: []devicedata.EventRecord{{ProductID: "PRODUCT01", DeviceName: "dev", EventID: "e", Type: "info", At: at(7)}},
			Controls: []devicedata.ControlChange{{ProductID: "PRODUCT01", DeviceName: "dev",
				Params: map[string]json.RawMessage{"a": json.RawMessage("2")}, ClientToken: "c", At: at(7)}},
			Infos: []devicedata.Info{{ProductID: "PRODUCT01", DeviceName: "dev", Info: json.RawMessage(`{}`), At: at(7)}},
		}))
		mustNil(t, rs.DeleteDevice(ctx, "PRODUCT01", "dev"))
		mustNil(t, rs.CreateDevice(ctx, device("PRODUCT01", "dev", 8)))
		vals, err := ds.LatestValues(ctx, "PRODUCT01", "dev")
		mustNil(t, err)
		_, pending, err := ds.PendingControl(ctx, "PRODUCT01", "dev")
		mustNil(t, err)
		_, info, err := ds.DeviceInfo(ctx, "PRODUCT01", "dev")
		mustNil(t, err)
		hist, err := ds.PropertyHistory(ctx, devicedata.HistoryQuery{ProductID: "PRODUCT01", DeviceName: "dev", PropertyID: "a",
			From: at(0), To: at(100), Limit: 10})
		mustNil(t, err)
		_, events, err := ds.EventHistory(ctx, devicedata.EventQuery{ProductID: "PRODUCT01", DeviceName: "dev",
			From: at(0), To: at(100), Limit: 10})
		mustNil(t, err)
		_, raws, err := s.RawRecords(ctx, devicedata.RawQuery{ProductID: "PRODUCT01", DeviceName: "dev", Limit: 10})
		mustNil(t, err)
		_, callErr := s.Call(ctx, "PRODUCT01", "dev", "tok1")
		if len(vals) != 0 || pending || info || len(hist) != 0 || events != 0 || raws != 0 {
			t.Errorf("re-created device sees old data: values %v, control %v, info %v, history %v, events %d, raw %d",
				vals, pending, info, hist, events, raws)
		}
		wantErr(t, "call of deleted device", callErr, devicedata.ErrCallNotFound)
		_, others, err := s.RawRecords(ctx, devicedata.RawQuery{ProductID: "PRODUCT01", DeviceName: "other", Limit: 10})
		mustNil(t, err)
		if others != 1 {
			t.Errorf("raw data of another device: %d records, want 1", others)
		}
	})
}
