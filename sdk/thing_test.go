package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/protocol"
	"github.com/thingo-iot/thingo/sdk"
)

var (
	upProperty   = protocol.ThingUp(protocol.KindProperty, testPID, testDN)
	downProperty = protocol.ThingDown(protocol.KindProperty, testPID, testDN)
	upAction     = protocol.ThingUp(protocol.KindAction, testPID, testDN)
	downAction   = protocol.ThingDown(protocol.KindAction, testPID, testDN)
	upEvent      = protocol.ThingUp(protocol.KindEvent, testPID, testDN)
	downEvent    = protocol.ThingDown(protocol.KindEvent, testPID, testDN)
	sysUp        = protocol.FamilyTopic(protocol.FamilySys, protocol.Up, testPID, testDN)
	sysDown      = protocol.FamilyTopic(protocol.FamilySys, protocol.Down, testPID, testDN)
)

// echoResponder plays the platform: it answers report (406 when a param is
// named "bad"), get_status (with a pending control), clear_control,
// report_info, event_post and `$sys` time; a method "silent" is ignored.
func echoResponder(topic string, payload []byte) (string, []byte, bool) {
	var req map[string]any
	if json.Unmarshal(payload, &req) != nil {
		return "", nil, false
	}
	reply := map[string]any{"clientToken": req["clientToken"], "code": 0, "status": "success"}
	switch topic {
	case sysUp:
		now := time.Now()
		b, _ := json.Marshal(map[string]any{"type": "get", "time": now.Unix(), "ntptime1": now.UnixMilli(), "ntptime2": now.UnixMilli()})
		return sysDown, b, true
	case upEvent:
		reply["method"] = "event_reply"
		reply["data"] = map[string]any{}
		if req["eventId"] != "PowerAlarm" || req["type"] != "fault" {
			reply["code"] = 403
		}
		b, _ := json.Marshal(reply)
		return downEvent, b, true
	case upProperty:
	default:
		return "", nil, false
	}
	method, _ := req["method"].(string)
	switch method {
	case "report":
		if params, _ := req["params"].(map[string]any); params["bad"] != nil {
			reply["code"], reply["status"] = 406, "bad is not in the thing model"
		}
	case "get_status":
		reply["type"] = "report"
		reply["data"] = map[string]any{"reported": map[string]any{"brightness": 32}, "control": map[string]any{"power_switch": 1}}
	case "clear_control", "report_info":
	default:
		return "", nil, false
	}
	reply["method"] = method + "_reply"
	b, _ := json.Marshal(reply)
	return downProperty, b, true
}

func TestThingRequests(t *testing.T) {
	b := startBroker(t)
	b.setResponder(echoResponder)
	c := newClient(t, b.url(), func(cfg *sdk.Config) { cfg.RequestTimeout = 300 * time.Millisecond })
	mustConnect(t, c)
	ctx := context.Background()

	tests := []struct {
		name     string
		call     func() (sdk.Reply, error)
		wantCode int
		method   string
	}{
		{"report", func() (sdk.Reply, error) {
			return c.ReportProperties(ctx, map[string]any{"power_switch": 1, "color": "red"})
		}, 0, "report_reply"},
		{"report rejected", func() (sdk.Reply, error) { return c.ReportProperties(ctx, map[string]any{"bad": 1}) }, 406, "report_reply"},
		{"clear_control", func() (sdk.Reply, error) { return c.ClearControl(ctx) }, 0, "clear_control_reply"},
		{"report_info", func() (sdk.Reply, error) {
			return c.ReportInfo(ctx, map[string]any{"module_hardinfo": "esp8266", "fw_ver": "1.0"})
		}, 0, "report_info_reply"},
		{"event", func() (sdk.Reply, error) {
			return c.PostEvent(ctx, "PowerAlarm", "fault", map[string]any{"Voltage": 2.8})
		}, 0, "event_reply"},
		{"unknown event", func() (sdk.Reply, error) { return c.PostEvent(ctx, "Nope", "info", nil) }, 403, "event_reply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.call()
			if tt.wantCode == 0 && err != nil {
				t.Fatal(err)
			}
			var re *sdk.ReplyError
			if tt.wantCode != 0 && (!errors.As(err, &re) || re.Code != tt.wantCode) {
				t.Fatalf("err = %v, want ReplyError %d", err, tt.wantCode)
			}
			if r.Code != tt.wantCode || r.Method != tt.method || r.ClientToken == "" {
				t.Errorf("reply = %+v", r)
			}
		})
	}

	t.Run("get_status", func(t *testing.T) {
		st, err := c.GetStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Reported["brightness"] != float64(32) || st.Control["power_switch"] != float64(1) {
			t.Errorf("status = %+v", st)
		}
	})
	t.Run("no reply times out", func(t *testing.T) {
		b.setResponder(nil)
		defer b.setResponder(echoResponder)
		if _, err := c.ReportProperties(ctx, map[string]any{"x": 1}); !errors.Is(err, sdk.ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
	})
	t.Run("server time", func(t *testing.T) {
		before := time.Now()
		st, err := c.ServerTime(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Same clock on both sides: the estimate lies within the call.
		if st.Before(before.Add(-time.Second)) || st.After(time.Now().Add(time.Second)) {
			t.Errorf("server time %v, local %v", st, before)
		}
	})
}

func TestControlAndAction(t *testing.T) {
	b := startBroker(t)
	c := newClient(t, b.url(), nil)
	controls := make(chan map[string]any, 1)
	c.OnControl(func(_ context.Context, params map[string]any) (int, string) {
		select {
		case controls <- params:
		default:
		}
		return 0, "applied"
	})
	c.OnAction("openDoor", func(_ context.Context, params map[string]any) (int, string, map[string]any) {
		return 0, "opened", map[string]any{"Code": 0, "user": params["userid"]}
	})
	mustConnect(t, c)

	tests := []struct {
		name, down, up, request string
		want                    map[string]any
	}{
		{
			name: "control", down: downProperty, up: upProperty,
			request: `{"method":"control","clientToken":"ctl-1","params":{"power_switch":1}}`,
			want:    map[string]any{"method": "control_reply", "clientToken": "ctl-1", "code": float64(0), "status": "applied"},
		},
		{
			name: "numeric client token", down: downProperty, up: upProperty,
			request: `{"method":"control","clientToken":12345,"params":{"power_switch":0}}`,
			want:    map[string]any{"method": "control_reply", "clientToken": "12345", "code": float64(0), "status": "applied"},
		},
		{
			name: "action", down: downAction, up: upAction,
			request: `{"method":"action","clientToken":"act-1","actionId":"openDoor","timestamp":1212121221,"params":{"userid":"323343"}}`,
			want: map[string]any{"method": "action_reply", "clientToken": "act-1", "code": float64(0), "status": "opened",
				"response": map[string]any{"Code": float64(0), "user": "323343"}},
		},
		{
			name: "unknown action", down: downAction, up: upAction,
			request: `{"method":"action","clientToken":"act-2","actionId":"fly","timestamp":1,"params":{}}`,
			want: map[string]any{"method": "action_reply", "clientToken": "act-2", "code": float64(403),
				"status": "action fly not supported", "response": map[string]any{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := b.srv.Publish(tt.down, []byte(tt.request), false, 1); err != nil {
				t.Fatal(err)
			}
			token := tt.want["clientToken"]
			p := b.waitUplink(t, tt.up, func(p []byte) bool {
				var m map[string]any
				return json.Unmarshal(p, &m) == nil && m["clientToken"] == token
			})
			var got map[string]any
			if err := json.Unmarshal(p, &got); err != nil {
				t.Fatal(err)
			}
			if !equalJSON(got, tt.want) {
				t.Errorf("reply = %v, want %v", got, tt.want)
			}
		})
	}
	select {
	case p := <-controls:
		if p["power_switch"] != float64(1) {
			t.Errorf("control params = %v", p)
		}
	default:
		t.Error("control handler not called")
	}
}

func equalJSON(a, b map[string]any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb) && maps.EqualFunc(a, b, func(any, any) bool { return true })
}
