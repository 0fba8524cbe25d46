package gateway_test

import (
	"context"
	"errors"
	"testing"

	"github.com/thingo-iot/thingo/internal/gateway"
)

func TestOnlineSubDevicesAndDeleted(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	if err := f.svc.BindDevices(ctx, "AB12CD34EF", "dev001", "SUBPID0001", []string{"sub001", "sub002"}); err != nil {
		t.Fatal(err)
	}
	f.svc.GatewayConnected("AB12CD34EF", "dev001")
	if n := f.svc.OnlineSubDevices("AB12CD34EF", "dev001"); n != 0 {
		t.Fatalf("online before = %d", n)
	}
	f.svc.Operate(ctx, "AB12CD34EF", "dev001", request("online",
		dev{ProductID: "SUBPID0001", DeviceName: "sub001"}, dev{ProductID: "SUBPID0001", DeviceName: "sub002"}))
	tests := []struct {
		name     string
		pid, dn  string
		wantSubs int
	}{
		{"gateway with two online", "AB12CD34EF", "dev001", 2},
		{"gateway without connection", "AB12CD34EF", "dev002", 0},
		{"unknown", "NOPE000000", "x", 0},
	}
	for _, tc := range tests {
		if got := f.svc.OnlineSubDevices(tc.pid, tc.dn); got != tc.wantSubs {
			t.Errorf("%s: OnlineSubDevices = %d, want %d", tc.name, got, tc.wantSubs)
		}
	}

	b, err := f.svc.BindingOf(ctx, "SUBPID0001", "sub001")
	if err != nil {
		t.Fatal(err)
	}
	f.svc.SubDeviceDeleted(ctx, "SUBPID0001", "sub001", &b)
	if f.svc.Online("SUBPID0001", "sub001") {
		t.Error("deleted sub-device still online")
	}
	if n := f.svc.OnlineSubDevices("AB12CD34EF", "dev001"); n != 1 {
		t.Errorf("online after delete = %d, want 1", n)
	}
	want := sent{"AB12CD34EF", "dev001", "$gateway/operation/result/AB12CD34EF/dev001",
		`{"type":"change","payload":{"status":0,"devices":[{"product_id":"SUBPID0001","device_name":"sub001"}]}}`}
	if got := f.pub.last(); got != want {
		t.Errorf("change = %+v", got)
	}
	// Not bound: forgotten from memory, no message.
	before := len(f.pub.msgs)
	f.svc.SubDeviceDeleted(ctx, "SUBPID0001", "sub002", nil)
	if f.svc.Online("SUBPID0001", "sub002") || len(f.pub.msgs) != before {
		t.Errorf("unbound delete: online=%v msgs=%d->%d", f.svc.Online("SUBPID0001", "sub002"), before, len(f.pub.msgs))
	}
}

func TestSearchDevicesChecks(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	tests := []struct {
		name    string
		pid, dn string
		status  int
		want    error
	}{
		{"start", "AB12CD34EF", "dev001", 1, nil},
		{"stop", "AB12CD34EF", "dev001", 0, nil},
		{"bad status", "AB12CD34EF", "dev001", 2, gateway.ErrBadStatus},
		{"not a gateway", "SUBPID0001", "sub001", 1, gateway.ErrNotGateway},
	}
	for _, tc := range tests {
		if err := f.svc.SearchDevices(ctx, tc.pid, tc.dn, tc.status); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if got := f.pub.last().payload; got != `{"type":"search_devices","payload":{"status":0}}` {
		t.Errorf("last = %s", got)
	}
}
