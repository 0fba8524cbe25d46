package storetest

import (
	"context"
	"testing"

	"github.com/thingo-iot/thingo/internal/gateway"
	"github.com/thingo-iot/thingo/internal/registry"
)

func testGateway(t *testing.T, rs registry.Store) {
	s, ok := rs.(gateway.Store)
	if !ok {
		t.Fatalf("%T does not implement gateway.Store", rs)
	}
	ctx := context.Background()
	seed(t, rs)
	gw := product("GATEWAY001", "P1", 0)
	gw.ProductType = registry.ProductTypeGateway
	mustNil(t, rs.CreateProduct(ctx, gw))
	mustNil(t, rs.CreateProduct(ctx, product("PRODUCT02", "P1", 0)))
	for _, d := range []registry.Device{device("GATEWAY001", "gw1", 0), device("GATEWAY001", "gw2", 0),
		device("PRODUCT01", "s1", 0), device("PRODUCT01", "s2", 0), device("PRODUCT01", "s3", 0),
		device("PRODUCT02", "t1", 0)} {
		mustNil(t, rs.CreateDevice(ctx, d))
	}

	// Product associations.
	mustNil(t, s.AddSubProduct(ctx, gateway.SubProduct{GatewayProductID: "GATEWAY001", ProductID: "PRODUCT02", CreatedAt: at(1)}))
	mustNil(t, s.AddSubProduct(ctx, gateway.SubProduct{GatewayProductID: "GATEWAY001", ProductID: "PRODUCT01", CreatedAt: at(2)}))
	mustNil(t, s.AddSubProduct(ctx, gateway.SubProduct{GatewayProductID: "GATEWAY001", ProductID: "PRODUCT01", CreatedAt: at(3)}))
	wantErr(t, "associate unknown", s.AddSubProduct(ctx, gateway.SubProduct{GatewayProductID: "GATEWAY001",
		ProductID: "NOPRODUCT1", CreatedAt: at(1)}), registry.ErrProductNotFound)
	sps, err := s.ListSubProducts(ctx, "GATEWAY001")
	mustNil(t, err)
	if len(sps) != 2 || sps[0].ProductID != "PRODUCT01" || !sps[0].CreatedAt.Equal(at(2)) || sps[1].ProductID != "PRODUCT02" {
		t.Errorf("sub-products = %+v", sps)
	}
	for _, tc := range []struct {
		pid  string
		want bool
	}{{"PRODUCT01", true}, {"PRODUCT02", true}, {"GATEWAY001", false}, {"NOPRODUCT1", false}} {
		got, err := s.IsSubProduct(ctx, "GATEWAY001", tc.pid)
		mustNil(t, err)
		if got != tc.want {
			t.Errorf("IsSubProduct(%s) = %v, want %v", tc.pid, got, tc.want)
		}
	}
	mustNil(t, s.RemoveSubProduct(ctx, "GATEWAY001", "PRODUCT02"))
	mustNil(t, s.RemoveSubProduct(ctx, "GATEWAY001", "PRODUCT02"))
	if ok, _ := s.IsSubProduct(ctx, "GATEWAY001", "PRODUCT02"); ok {
		t.Error("PRODUCT02 still associated after removal")
	}

	// Device bindings.
	bind := func(gwName, dn string, minute int) gateway.Binding {
		return gateway.Binding{GatewayProductID: "GATEWAY001", GatewayName: gwName, ProductID: "PRODUCT01",
			DeviceName: dn, BoundAt: at(minute)}
	}
	tests := []struct {
		name string
		b    gateway.Binding
		max  int
		want error
	}{
		{"first", bind("gw1", "s2", 5), 2, nil},
		{"second", bind("gw1", "s1", 6), 2, nil},
		{"duplicate", bind("gw1", "s1", 7), 2, gateway.ErrAlreadyBound},
		{"elsewhere", bind("gw2", "s1", 7), 2, gateway.ErrBoundElsewhere},
		{"limit", bind("gw1", "s3", 7), 2, gateway.ErrTooManySubDevices},
		{"unknown device", bind("gw1", "nobody", 7), 0, registry.ErrDeviceNotFound},
		{"other gateway", bind("gw2", "s3", 8), 0, nil},
	}
	for _, tc := range tests {
		err := s.BindSubDevice(ctx, tc.b, tc.max)
		if tc.want == nil {
			mustNil(t, err)
		} else {
			wantErr(t, "bind "+tc.name, err, tc.want)
		}
	}
	got, err := s.GetBinding(ctx, "PRODUCT01", "s1")
	mustNil(t, err)
	if got != bind("gw1", "s1", 6) {
		t.Errorf("binding = %+v", got)
	}
	_, err = s.GetBinding(ctx, "PRODUCT02", "t1")
	wantErr(t, "get unbound", err, gateway.ErrNotBound)

	list, total, err := s.ListSubDevices(ctx, "GATEWAY001", "gw1", "", 0, 0)
	mustNil(t, err)
	if total != 2 || len(list) != 2 || list[0].DeviceName != "s2" || list[1].DeviceName != "s1" {
		t.Errorf("sub-devices = %+v (total %d)", list, total)
	}
	list, total, err = s.ListSubDevices(ctx, "GATEWAY001", "gw1", "PRODUCT01", 1, 1)
	mustNil(t, err)
	if total != 2 || len(list) != 1 || list[0].DeviceName != "s1" {
		t.Errorf("page = %+v (total %d)", list, total)
	}
	list, total, err = s.ListSubDevices(ctx, "GATEWAY001", "gw1", "PRODUCT02", 0, 10)
	mustNil(t, err)
	if total != 0 || len(list) != 0 {
		t.Errorf("other product = %+v (total %d)", list, total)
	}

	wantErr(t, "unbind from other gateway", s.UnbindSubDevice(ctx, "GATEWAY001", "gw2", "PRODUCT01", "s1"), gateway.ErrNotBound)
	mustNil(t, s.UnbindSubDevice(ctx, "GATEWAY001", "gw1", "PRODUCT01", "s1"))
	wantErr(t, "unbind twice", s.UnbindSubDevice(ctx, "GATEWAY001", "gw1", "PRODUCT01", "s1"), gateway.ErrNotBound)

	// Deleting a device removes its bindings.
	mustNil(t, rs.DeleteDevice(ctx, "PRODUCT01", "s2"))
	_, total, err = s.ListSubDevices(ctx, "GATEWAY001", "gw1", "", 0, 0)
	mustNil(t, err)
	if total != 0 {
		t.Errorf("bindings after device deletion: %d", total)
	}
	mustNil(t, rs.DeleteDevice(ctx, "GATEWAY001", "gw2"))
	_, err = s.GetBinding(ctx, "PRODUCT01", "s3")
	wantErr(t, "binding after gateway deletion", err, gateway.ErrNotBound)
}
