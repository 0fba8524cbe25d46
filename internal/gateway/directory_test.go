package gateway_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/gateway"
)

// fakeDirectory records the sub-devices published online, by gateway.
type fakeDirectory struct {
	mu   sync.Mutex
	subs map[gateway.DeviceID]gateway.DeviceID
	fail bool
}

func (d *fakeDirectory) SubDeviceOnline(_ context.Context, sub, gw gateway.DeviceID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail {
		return errors.New("bus down")
	}
	d.subs[sub] = gw
	return nil
}

func (d *fakeDirectory) SubDeviceOffline(_ context.Context, sub, gw gateway.DeviceID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail {
		return errors.New("bus down")
	}
	if d.subs[sub] == gw {
		delete(d.subs, sub)
	}
	return nil
}

func (d *fakeDirectory) gateway(pid, dn string) (gateway.DeviceID, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	gw, ok := d.subs[gateway.DeviceID{ProductID: pid, DeviceName: dn}]
	return gw, ok
}

func TestDirectoryFollowsSubDevicePresence(t *testing.T) {
	ctx := context.Background()
	dir := &fakeDirectory{subs: map[gateway.DeviceID]gateway.DeviceID{}}
	f := newFixtureDir(t, 0, dir)
	const gwPID, gwDN = "AB12CD34EF", "dev001"
	gw := gateway.DeviceID{ProductID: gwPID, DeviceName: gwDN}
	if err := f.svc.BindDevices(ctx, gwPID, gwDN, "SUBPID0001", []string{"sub001", "sub002", "sub003"}); err != nil {
		t.Fatal(err)
	}
	f.svc.GatewayConnected(gwPID, gwDN)
	online := func(dns ...string) {
		t.Helper()
		var devs []dev
		for _, dn := range dns {
			devs = append(devs, dev{ProductID: "SUBPID0001", DeviceName: dn})
		}
		f.svc.Operate(ctx, gwPID, gwDN, request("online", devs...))
	}
	online("sub001", "sub002", "sub003")

	steps := []struct {
		name string
		do   func()
		want map[string]bool // sub-device -> published
	}{
		{"online", func() {}, map[string]bool{"sub001": true, "sub002": true, "sub003": true}},
		{"offline", func() {
			f.svc.Operate(ctx, gwPID, gwDN, request("offline", dev{ProductID: "SUBPID0001", DeviceName: "sub001"}))
		}, map[string]bool{"sub001": false, "sub002": true, "sub003": true}},
		{"deleted", func() {
			f.svc.SubDeviceDeleted(ctx, "SUBPID0001", "sub002", nil)
		}, map[string]bool{"sub001": false, "sub002": false, "sub003": true}},
		{"gateway gone", func() {
			f.svc.GatewayDisconnected(gwPID, gwDN, time.Now())
			f.svc.Wait()
		}, map[string]bool{"sub001": false, "sub002": false, "sub003": false}},
	}
	for _, st := range steps {
		st.do()
		for dn, want := range st.want {
			got, ok := dir.gateway("SUBPID0001", dn)
			if ok != want || (ok && got != gw) {
				t.Errorf("%s: %s published = %v (%+v), want %v", st.name, dn, ok, got, want)
			}
		}
	}
}

func TestDirectoryFailureKeepsLocalPresence(t *testing.T) {
	ctx := context.Background()
	dir := &fakeDirectory{subs: map[gateway.DeviceID]gateway.DeviceID{}, fail: true}
	f := newFixtureDir(t, 0, dir)
	if err := f.svc.BindDevices(ctx, "AB12CD34EF", "dev001", "SUBPID0001", []string{"sub001"}); err != nil {
		t.Fatal(err)
	}
	f.svc.GatewayConnected("AB12CD34EF", "dev001")
	r, ok := f.svc.Operate(ctx, "AB12CD34EF", "dev001", request("online", dev{ProductID: "SUBPID0001", DeviceName: "sub001"}))
	if got := results(t, r); !ok || len(got) != 1 || got[0] != gateway.ResultOK {
		t.Fatalf("online = %v, %v", got, ok)
	}
	if !f.svc.Online("SUBPID0001", "sub001") {
		t.Fatal("sub-device not online locally")
	}
}
