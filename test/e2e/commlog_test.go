package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/commlog"
)

// TestCommLog checks the console's live log of a device's conversation:
// connection, reports settled by their replies, a refused publish, and a
// control with the device's answer.
func TestCommLog(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, c, box := thingDevice(t, s, "log1")
	live := s.app.Traffic().Watch(ctx, d.ProductID, d.Name)
	up := "$thing/up/property/" + d.ProductID + "/" + d.Name
	down := "$thing/down/property/" + d.ProductID + "/" + d.Name

	publish := func(topic, payload string) {
		t.Helper()
		if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	publish(up, `{"method":"report","clientToken":"ok-1","params":{"brightness":42}}`)
	publish(up, `{"method":"report","clientToken":"bad-1","params":{"brightness":100000}}`)
	// Not this device's topic: the broker refuses it.
	publish("$thing/up/property/"+d.ProductID+"/someone-else", `{"method":"report","clientToken":"x","params":{}}`)

	var ctl struct{ Result string }
	s.mustCall("ControlDeviceData", map[string]any{"ProductId": d.ProductID, "DeviceName": d.Name, "Data": `{"power_switch":1}`}, &ctl)
	got := box.await(t, down, func(m map[string]any) bool { return m["method"] == "control" })
	token, _ := got["clientToken"].(string)
	publish(up, fmt.Sprintf(`{"method":"control_reply","clientToken":%q,"code":0,"status":"ok"}`, token))

	type check struct {
		name string
		ok   func(commlog.Entry) bool
		want bool // the entry's OK
	}
	checks := []check{
		{"connected event", func(e commlog.Entry) bool {
			return e.Direction == commlog.Event && strings.HasPrefix(e.Result, "connected from 127.0.0.1, keepalive 60s")
		}, true},
		{"valid report settled", func(e commlog.Entry) bool {
			return e.Direction == commlog.Up && e.ClientToken == "ok-1" && e.Result == "code 0 success"
		}, true},
		{"invalid report settled", func(e commlog.Entry) bool {
			return e.Direction == commlog.Up && e.ClientToken == "bad-1" && strings.HasPrefix(e.Result, "code 406 ")
		}, false},
		{"reply to the valid report", func(e commlog.Entry) bool {
			return e.Direction == commlog.Down && e.Method == "report_reply" && e.ClientToken == "ok-1" && e.Result == "delivered"
		}, true},
		{"reply to the invalid report", func(e commlog.Entry) bool {
			return e.Direction == commlog.Down && e.Method == "report_reply" && e.ClientToken == "bad-1" && e.Result == "delivered"
		}, true},
		{"refused publish", func(e commlog.Entry) bool {
			return e.Direction == commlog.Event && strings.HasPrefix(e.Result, "dropped: acl on topic ") && strings.HasSuffix(e.Topic, "/someone-else")
		}, false},
		{"control answered", func(e commlog.Entry) bool {
			return e.Direction == commlog.Down && e.Method == "control" && e.ClientToken == token && e.Result == "delivered, replied code 0 success: ok"
		}, true},
		{"control_reply", func(e commlog.Entry) bool {
			return e.Direction == commlog.Up && e.Method == "control_reply" && e.ClientToken == token
		}, true},
	}
	var entries []commlog.Entry
	waitFor(t, 10*time.Second, func() error {
		entries = s.app.Traffic().Recent(d.ProductID, d.Name, 100)
		for _, ch := range checks {
			if find(entries, ch.ok) == nil {
				return fmt.Errorf("no entry: %s", ch.name)
			}
		}
		return nil
	})
	for _, ch := range checks {
		t.Run(ch.name, func(t *testing.T) {
			if e := find(entries, ch.ok); e.OK != ch.want {
				t.Errorf("OK = %v, want %v: %s", e.OK, ch.want, dump(*e))
			}
		})
	}
	for i := 1; i < len(entries); i++ {
		if entries[i].Seq <= entries[i-1].Seq {
			t.Errorf("Recent not oldest first: %d then %d", entries[i-1].Seq, entries[i].Seq)
		}
	}

	// The watcher saw the invalid report twice: recorded, then settled
	// under the same Seq.
	var seen []commlog.Entry
	waitFor(t, 10*time.Second, func() error {
		for {
			select {
			case e := <-live:
				seen = append(seen, e)
				continue
			default:
			}
			break
		}
		var first, settled *commlog.Entry
		for i, e := range seen {
			if e.ClientToken == "bad-1" && e.Direction == commlog.Up {
				if first == nil {
					first = &seen[i]
				} else {
					settled = &seen[i]
				}
			}
		}
		if first == nil || settled == nil {
			return fmt.Errorf("watcher saw %d entries, not the report and its settlement", len(seen))
		}
		if first.Seq != settled.Seq || first.Result != "" || settled.OK {
			return fmt.Errorf("report %s then %s", dump(*first), dump(*settled))
		}
		return nil
	})
	c.Disconnect(100)
	waitFor(t, 10*time.Second, func() error {
		last := s.app.Traffic().Recent(d.ProductID, d.Name, 1)
		if len(last) == 1 && last[0].Direction == commlog.Event && strings.HasPrefix(last[0].Result, "disconnected") {
			return nil
		}
		return fmt.Errorf("latest entry %v, want the disconnection", last)
	})
}

func find(entries []commlog.Entry, ok func(commlog.Entry) bool) *commlog.Entry {
	for i := range entries {
		if ok(entries[i]) {
			return &entries[i]
		}
	}
	return nil
}

func dump(e commlog.Entry) string {
	b, _ := json.Marshal(e)
	return string(b)
}
