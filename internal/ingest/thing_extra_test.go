package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/devicedata"
)

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRawUplinkStoredOpaque(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	payloads := []string{"\x00\x01\xff not json", `{"method":"report"}`}
	for _, p := range payloads {
		f.h.HandleUplink(ctx, dev, "$thing/up/raw/PRODUCTA01/dev1", []byte(p))
	}
	var got []devicedata.RawRecord
	eventually(t, "raw uplinks stored", func() bool {
		var err error
		got, _, err = f.data.RawData(ctx, devicedata.RawQuery{ProductID: "PRODUCTA01", DeviceName: "dev1", Limit: 10})
		return err == nil && len(got) == 2
	})
	if string(got[0].Payload) != payloads[1] || string(got[1].Payload) != payloads[0] {
		t.Errorf("raw data = %q, %q; want newest first", got[0].Payload, got[1].Payload)
	}
	f.pub.none(t) // no reply on the raw topic
}

func TestAsyncActionResultRecorded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r, err := f.data.CallAction(ctx, "PRODUCTA01", "dev1", "light_blink", []byte(`{"time":3}`), false)
	if err != nil {
		t.Fatal(err)
	}
	f.pub.next(t) // the action
	c, err := f.data.Call(ctx, "PRODUCTA01", "dev1", r.ClientToken)
	if err != nil || c.Replied() || c.Method != devicedata.CallAction || c.Name != "light_blink" || string(c.Request) != `{"time":3}` {
		t.Fatalf("call before reply = %+v, %v", c, err)
	}
	f.h.HandleUplink(ctx, dev, "$thing/up/action/PRODUCTA01/dev1",
		[]byte(`{"method":"action_reply","clientToken":"`+r.ClientToken+`","code":0,"status":"ok","response":{"err_code":2}}`))
	eventually(t, "action reply recorded", func() bool {
		c, err = f.data.Call(ctx, "PRODUCTA01", "dev1", r.ClientToken)
		return err == nil && c.Replied()
	})
	if c.Code != 0 || c.Status != "ok" || string(c.Response) != `{"err_code":2}` {
		t.Errorf("recorded reply = %+v", c)
	}
	_, err = f.data.Call(ctx, "PRODUCTA01", "dev1", "unknown")
	if !errors.Is(err, devicedata.ErrCallNotFound) {
		t.Errorf("unknown token: %v, want ErrCallNotFound", err)
	}
}

func TestAlertFenceEvent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.data.SendAlertFence(ctx, "PRODUCTA01", "dev1", devicedata.AlertFence{AlertType: "In"}); !errors.Is(err, devicedata.ErrBadFence) {
		t.Errorf("fence without a name: %v, want ErrBadFence", err)
	}
	tok, err := f.data.SendAlertFence(ctx, "PRODUCTA01", "dev1", devicedata.AlertFence{
		AlertType: "In", AlertCondition: "InOrOut", FenceName: "home", Longitude: 113.9, Latitude: 22.5,
		AlarmTime: time.Unix(1700000000, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	m := f.pub.next(t)
	var got struct {
		Method      string `json:"method"`
		ClientToken string `json:"clientToken"`
		Timestamp   *int64 `json:"timestamp"`
		Data        struct {
			AlertType      string  `json:"alert_type"`
			AlertCondition string  `json:"alert_condition"`
			AlarmTime      int64   `json:"alarm_time"`
			FenceName      string  `json:"fence_name"`
			Long           float64 `json:"long"`
			Lat            float64 `json:"lat"`
		} `json:"data"`
	}
	if err := json.Unmarshal(m.payload, &got); err != nil {
		t.Fatal(err)
	}
	if m.topic != "$thing/down/service/PRODUCTA01/dev1" || got.Method != "alert_fence_event" || got.ClientToken != tok ||
		got.Timestamp == nil || got.Data.AlertType != "In" || got.Data.AlertCondition != "InOrOut" ||
		got.Data.AlarmTime != 1700000000 || got.Data.FenceName != "home" || got.Data.Long != 113.9 || got.Data.Lat != 22.5 {
		t.Fatalf("alert_fence_event %s %s", m.topic, m.payload)
	}
	f.h.HandleUplink(ctx, dev, "$thing/up/service/PRODUCTA01/dev1",
		[]byte(`{"method":"alert_fence_event_reply","clientToken":"`+tok+`","timestamp":0,"code":0,"status":"success"}`))
	var c devicedata.CallRecord
	eventually(t, "fence reply recorded", func() bool {
		c, err = f.data.Call(ctx, "PRODUCTA01", "dev1", tok)
		return err == nil && c.Replied()
	})
	if c.Method != devicedata.CallAlertFence || c.Status != "success" || c.Code != 0 || !strings.Contains(string(c.Request), `"fence_name":"home"`) {
		t.Errorf("fence record = %+v", c)
	}
}

func TestGetStatusShowMeta(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.h.HandleUplink(ctx, dev, "$thing/up/property/PRODUCTA01/dev1",
		[]byte(`{"method":"report","clientToken":"r","params":{"brightness":7}}`))
	f.pub.next(t) // report_reply
	tests := []struct {
		name     string
		showmeta string
		wantMeta bool
	}{
		{"absent", ``, false},
		{"zero", `,"showmeta":0`, false},
		{"one", `,"showmeta":1`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.h.HandleUplink(ctx, dev, "$thing/up/property/PRODUCTA01/dev1",
				[]byte(`{"method":"get_status","clientToken":"s"`+tc.showmeta+`}`))
			var rep struct {
				Code int `json:"code"`
				Data struct {
					Reported map[string]int `json:"reported"`
					Metadata *struct {
						Reported map[string]struct {
							LastUpdate int64 `json:"lastUpdate"`
						} `json:"reported"`
					} `json:"metadata"`
				} `json:"data"`
			}
			if err := json.Unmarshal(f.pub.next(t).payload, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Code != 0 || rep.Data.Reported["brightness"] != 7 {
				t.Fatalf("get_status_reply = %+v", rep)
			}
			if (rep.Data.Metadata != nil) != tc.wantMeta {
				t.Fatalf("metadata = %+v, want present %v", rep.Data.Metadata, tc.wantMeta)
			}
			if tc.wantMeta && rep.Data.Metadata.Reported["brightness"].LastUpdate < time.Now().Add(-time.Hour).UnixMilli() {
				t.Errorf("lastUpdate = %d", rep.Data.Metadata.Reported["brightness"].LastUpdate)
			}
		})
	}
}
