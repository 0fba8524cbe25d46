package app

import (
	"fmt"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/broker"
	"github.com/thingo-iot/thingo/internal/commlog"
	"github.com/thingo-iot/thingo/internal/devauth"
)

const (
	tpid = "PRODUCTA01"
	tgw  = "GATEWAY001"
)

func TestTrafficUplinkDevice(t *testing.T) {
	dev := devauth.Identity{ProductID: tpid, DeviceName: "dev1"}
	gw := devauth.Identity{ProductID: tgw, DeviceName: "gw1", Gateway: true}
	tests := []struct {
		name    string
		id      devauth.Identity
		topic   string
		wantPID string
		wantDN  string
	}{
		{name: "own property", id: dev, topic: "$thing/up/property/" + tpid + "/dev1", wantPID: tpid, wantDN: "dev1"},
		{name: "own ota", id: dev, topic: "$ota/report/" + tpid + "/dev1", wantPID: tpid, wantDN: "dev1"},
		{name: "own custom", id: dev, topic: tpid + "/dev1/user/data", wantPID: tpid, wantDN: "dev1"},
		{name: "non-gateway naming another device", id: dev, topic: "$thing/up/property/" + tpid + "/dev2", wantPID: tpid, wantDN: "dev1"},
		{name: "gateway own operation", id: gw, topic: "$gateway/operation/" + tgw + "/gw1", wantPID: tgw, wantDN: "gw1"},
		{name: "gateway for sub-device", id: gw, topic: "$thing/up/property/" + tpid + "/sub1", wantPID: tpid, wantDN: "sub1"},
		{name: "gateway, not a device topic", id: gw, topic: "weird", wantPID: tgw, wantDN: "gw1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := commlog.New(commlog.Options{})
			newTraffic(l).Uplink(tt.id, tt.topic, []byte(`{"method":"report","clientToken":"1"}`))
			got := l.Recent("", "", 10)
			if len(got) != 1 {
				t.Fatalf("%d entries", len(got))
			}
			e := got[0]
			if e.ProductID != tt.wantPID || e.DeviceName != tt.wantDN || e.Direction != commlog.Up || e.Topic != tt.topic || e.Method != "report" {
				t.Errorf("entry %+v, want device %s/%s", e, tt.wantPID, tt.wantDN)
			}
		})
	}
}

func TestTrafficDownlinkResult(t *testing.T) {
	tests := []struct {
		name       string
		d          broker.Delivery
		err        error
		wantOK     bool
		wantResult string
	}{
		{name: "delivered", d: broker.Delivered, wantOK: true, wantResult: "delivered"},
		{name: "queued", d: broker.Queued, wantOK: true, wantResult: "queued"},
		{name: "offline", err: broker.ErrDeviceOffline, wantResult: broker.ErrDeviceOffline.Error()},
		{name: "wrapped", err: fmt.Errorf("x: %w", broker.ErrNotSubscribed), wantResult: "x: " + broker.ErrNotSubscribed.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := commlog.New(commlog.Options{})
			topic := "$thing/down/property/" + tpid + "/dev1"
			newTraffic(l).Downlink(tpid, "dev1", topic, []byte(`{"method":"control","clientToken":"c"}`), tt.d, tt.err)
			got := l.Recent(tpid, "dev1", 10)
			if len(got) != 1 {
				t.Fatalf("%d entries", len(got))
			}
			if e := got[0]; e.Direction != commlog.Down || e.OK != tt.wantOK || e.Result != tt.wantResult || e.Method != "control" {
				t.Errorf("entry %+v, want OK=%v %q", e, tt.wantOK, tt.wantResult)
			}
		})
	}
}

type recordingObserver struct{ calls []string }

func (r *recordingObserver) Connected(id devauth.Identity, _ broker.Connection) {
	r.calls = append(r.calls, "connected "+id.DeviceName)
}

func (r *recordingObserver) Disconnected(id devauth.Identity, _ time.Time, reason string) {
	r.calls = append(r.calls, "disconnected "+id.DeviceName+" "+reason)
}

func (r *recordingObserver) Dropped(id devauth.Identity, topic, reason string) {
	r.calls = append(r.calls, "dropped "+id.DeviceName+" "+reason)
}

func TestTrafficObserver(t *testing.T) {
	id := devauth.Identity{ProductID: tpid, DeviceName: "dev1"}
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name       string
		do         func(broker.Observer)
		wantOK     bool
		wantResult string
		wantTopic  string
		wantCall   string
	}{
		{name: "connected",
			do: func(o broker.Observer) {
				o.Connected(id, broker.Connection{RemoteAddr: "10.1.2.3:5555", KeepAlive: 60 * time.Second, Listener: "tcp"})
			},
			wantOK: true, wantResult: "connected from 10.1.2.3, keepalive 60s, over tcp", wantCall: "connected dev1"},
		{name: "resumed",
			do: func(o broker.Observer) {
				o.Connected(id, broker.Connection{RemoteAddr: "[::1]:5555", KeepAlive: 240 * time.Second, SessionPresent: true})
			},
			wantOK: true, wantResult: "connected from ::1, keepalive 240s, session resumed", wantCall: "connected dev1"},
		{name: "disconnected",
			do:     func(o broker.Observer) { o.Disconnected(id, at, "keepalive timeout") },
			wantOK: true, wantResult: "disconnected: keepalive timeout", wantCall: "disconnected dev1 keepalive timeout"},
		{name: "dropped",
			do:     func(o broker.Observer) { o.Dropped(id, "$thing/up/property/OTHERPID01/x", broker.DropACL) },
			wantOK: false, wantResult: "dropped: acl on topic $thing/up/property/OTHERPID01/x",
			wantTopic: "$thing/up/property/OTHERPID01/x", wantCall: "dropped dev1 acl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := commlog.New(commlog.Options{})
			next := &recordingObserver{}
			tt.do(newTraffic(l).observer(next))
			got := l.Recent(tpid, "dev1", 10)
			if len(got) != 1 {
				t.Fatalf("%d entries", len(got))
			}
			e := got[0]
			if e.Direction != commlog.Event || e.OK != tt.wantOK || e.Result != tt.wantResult || e.Topic != tt.wantTopic {
				t.Errorf("entry %+v, want OK=%v %q", e, tt.wantOK, tt.wantResult)
			}
			if len(next.calls) != 1 || next.calls[0] != tt.wantCall {
				t.Errorf("next observer got %v, want %q", next.calls, tt.wantCall)
			}
		})
	}
}

// BenchmarkTap is the broker's per-message cost of the live log: the tap
// calls for a typical property report (about 120 bytes) and its reply,
// against the same path without a tap (a nil broker.Tap is not called).
func BenchmarkTap(b *testing.B) {
	id := devauth.Identity{ProductID: tpid, DeviceName: "dev1"}
	upTopic, downTopic := "$thing/up/property/"+tpid+"/dev1", "$thing/down/property/"+tpid+"/dev1"
	report := []byte(`{"method":"report","clientToken":"mqtt-1234567","timestamp":1628646783,"params":{"power_switch":1,"color":1,"brightness":32}}`)
	reply := []byte(`{"method":"report_reply","clientToken":"mqtt-1234567","code":0,"status":"success"}`)
	for _, withTap := range []bool{false, true} {
		b.Run(fmt.Sprintf("tap=%v", withTap), func(b *testing.B) {
			var tap broker.Tap
			if withTap {
				tap = newTraffic(commlog.New(commlog.Options{}))
			}
			b.ReportAllocs()
			for b.Loop() {
				// What broker.handle and broker.Deliver do around the tap.
				if tap != nil {
					tap.Uplink(id, upTopic, report)
				}
				if tap != nil {
					tap.Downlink(tpid, "dev1", downTopic, reply, broker.Delivered, nil)
				}
			}
		})
	}
}
