package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/remoteconfig"
)

// testRemoteConfig checks the remoteconfig.Store side of a store: product
// and device levels, replacement, deletion and cascades.
func testRemoteConfig(t *testing.T, rs registry.Store) {
	s, ok := rs.(remoteconfig.Store)
	if !ok {
		t.Fatalf("%T does not implement remoteconfig.Store", rs)
	}
	ctx := context.Background()
	seed(t, rs)
	mustNil(t, rs.CreateDevice(ctx, device("PRODUCT01", "d1", 0)))

	rec := func(dn string, enabled bool, payload string, minute int) remoteconfig.Record {
		return remoteconfig.Record{ProductID: "PRODUCT01", DeviceName: dn, Enabled: enabled,
			Payload: json.RawMessage(payload), UpdatedAt: at(minute)}
	}
	same := func(a, b remoteconfig.Record) bool {
		return a.ProductID == b.ProductID && a.DeviceName == b.DeviceName && a.Enabled == b.Enabled &&
			string(a.Payload) == string(b.Payload) && a.UpdatedAt.Equal(b.UpdatedAt)
	}

	for _, dn := range []string{"", "d1"} {
		_, err := s.GetRemoteConfig(ctx, "PRODUCT01", dn)
		wantErr(t, "get missing "+dn, err, remoteconfig.ErrNotFound)
		wantErr(t, "delete missing "+dn, s.DeleteRemoteConfig(ctx, "PRODUCT01", dn), remoteconfig.ErrNotFound)
	}
	tests := []struct {
		name string
		r    remoteconfig.Record
	}{
		{"product", rec("", true, `{"a":1}`, 1)},
		{"product replaced", rec("", false, `{"a":2}`, 2)},
		{"device", rec("d1", true, `{"b":1}`, 3)},
		{"device replaced", rec("d1", true, `{"b":2}`, 4)},
	}
	for _, tc := range tests {
		mustNil(t, s.PutRemoteConfig(ctx, tc.r))
		got, err := s.GetRemoteConfig(ctx, tc.r.ProductID, tc.r.DeviceName)
		mustNil(t, err)
		if !same(got, tc.r) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.r)
		}
	}
	p, err := s.GetRemoteConfig(ctx, "PRODUCT01", "")
	mustNil(t, err)
	if string(p.Payload) != `{"a":2}` {
		t.Errorf("device write changed the product level: %+v", p)
	}

	missingProduct := rec("", true, `{}`, 0)
	missingProduct.ProductID = "NOPRODUCT0"
	wantErr(t, "put missing product", s.PutRemoteConfig(ctx, missingProduct), registry.ErrProductNotFound)
	wantErr(t, "put missing device", s.PutRemoteConfig(ctx, rec("nodev", true, `{}`, 0)), registry.ErrDeviceNotFound)

	mustNil(t, s.DeleteRemoteConfig(ctx, "PRODUCT01", "d1"))
	_, err = s.GetRemoteConfig(ctx, "PRODUCT01", "d1")
	wantErr(t, "get deleted", err, remoteconfig.ErrNotFound)

	// A deleted device takes its override with it.
	mustNil(t, s.PutRemoteConfig(ctx, rec("d1", true, `{}`, 5)))
	mustNil(t, rs.DeleteDevice(ctx, "PRODUCT01", "d1"))
	_, err = s.GetRemoteConfig(ctx, "PRODUCT01", "d1")
	wantErr(t, "override of deleted device", err, remoteconfig.ErrNotFound)
}
