package storetest

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/thingo-iot/thingo/internal/devicelog"
	"github.com/thingo-iot/thingo/internal/registry"
)

// testDynreg checks the registry.DynregStore and devicelog.Store sides of a
// store: settings created once, updates, the atomic registration limit,
// certificate replacement and device log lines with retention.
func testDynreg(t *testing.T, rs registry.Store) {
	s, ok := rs.(registry.DynregStore)
	if !ok {
		t.Fatalf("%T does not implement registry.DynregStore", rs)
	}
	ctx := context.Background()
	seed(t, rs)

	t.Run("Settings", func(t *testing.T) {
		_, err := s.GetDynamicRegister(ctx, "PRODUCT01")
		wantErr(t, "no settings yet", err, registry.ErrNotFound)
		_, err = s.EnsureDynamicRegister(ctx, registry.DynamicRegister{ProductID: "NOPRODUCT0", SealedSecret: []byte("x"), UpdatedAt: at(0)})
		wantErr(t, "missing product", err, registry.ErrProductNotFound)
		first := registry.DynamicRegister{ProductID: "PRODUCT01", SealedSecret: []byte("sealed-1"), UpdatedAt: at(1)}
		got, err := s.EnsureDynamicRegister(ctx, first)
		mustNil(t, err)
		if !bytes.Equal(got.SealedSecret, first.SealedSecret) || got.Type != 0 || got.UpdatedAt != at(1) {
			t.Errorf("first Ensure = %+v", got)
		}
		// A second Ensure keeps the first secret.
		got, err = s.EnsureDynamicRegister(ctx, registry.DynamicRegister{ProductID: "PRODUCT01", SealedSecret: []byte("sealed-2"), UpdatedAt: at(2)})
		mustNil(t, err)
		if string(got.SealedSecret) != "sealed-1" {
			t.Errorf("second Ensure secret = %q, want sealed-1", got.SealedSecret)
		}
		got.Type, got.Limit, got.AllowReregister, got.UpdatedAt = registry.RegisterAutoCreate, 2, true, at(3)
		mustNil(t, s.UpdateDynamicRegister(ctx, got))
		again, err := s.EnsureDynamicRegister(ctx, first)
		mustNil(t, err)
		if got, err := s.GetDynamicRegister(ctx, "PRODUCT01"); err != nil || got.Limit != 2 || string(got.SealedSecret) != "sealed-1" {
			t.Errorf("GetDynamicRegister = %+v, %v", got, err)
		}
		if again.Type != registry.RegisterAutoCreate || again.Limit != 2 || !again.AllowReregister || again.UpdatedAt != at(3) {
			t.Errorf("after update = %+v", again)
		}
		wantErr(t, "update missing", s.UpdateDynamicRegister(ctx, registry.DynamicRegister{ProductID: "NOPRODUCT0"}), registry.ErrProductNotFound)
	})

	t.Run("Limit", func(t *testing.T) {
		// Limit 2 from Settings: four concurrent registrations, two win.
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.CreateRegisteredDevice(ctx, device("PRODUCT01", "reg"+string(rune('a'+i)), 4))
			}()
		}
		wg.Wait()
		created := 0
		for _, err := range errs {
			switch {
			case err == nil:
				created++
			default:
				wantErr(t, "over the limit", err, registry.ErrRegisterLimit)
			}
		}
		if created != 2 {
			t.Errorf("created %d devices, want 2", created)
		}
		d, err := s.EnsureDynamicRegister(ctx, registry.DynamicRegister{ProductID: "PRODUCT01", SealedSecret: []byte("unused")})
		mustNil(t, err)
		if d.Registered != 2 {
			t.Errorf("Registered = %d, want 2", d.Registered)
		}
		d.Limit = 0
		mustNil(t, s.UpdateDynamicRegister(ctx, d))
		mustNil(t, s.CreateRegisteredDevice(ctx, device("PRODUCT01", "rege", 5)))
		wantErr(t, "duplicate", s.CreateRegisteredDevice(ctx, device("PRODUCT01", "rege", 5)), registry.ErrDeviceExists)
		d, err = s.EnsureDynamicRegister(ctx, registry.DynamicRegister{ProductID: "PRODUCT01", SealedSecret: []byte("unused")})
		mustNil(t, err)
		if d.Registered != 3 {
			t.Errorf("Registered after duplicate = %d, want 3 (rolled back)", d.Registered)
		}
	})

	t.Run("ReplaceCert", func(t *testing.T) {
		mustNil(t, rs.CreateDevice(ctx, device("PRODUCT01", "certdev", 6)))
		mustNil(t, s.ReplaceDeviceCert(ctx, "PRODUCT01", "certdev", "PEM", "abcd"))
		got, err := rs.GetDevice(ctx, "PRODUCT01", "certdev")
		mustNil(t, err)
		if got.CertPEM != "PEM" || got.CertSHA256 != "abcd" {
			t.Errorf("after replace = %q %q", got.CertPEM, got.CertSHA256)
		}
		wantErr(t, "missing", s.ReplaceDeviceCert(ctx, "PRODUCT01", "nodev", "PEM", "abcd"), registry.ErrDeviceNotFound)
	})

	t.Run("DeleteProduct", func(t *testing.T) {
		mustNil(t, rs.CreateProduct(ctx, product("PRODUCT02", "P1", 7)))
		_, err := s.EnsureDynamicRegister(ctx, registry.DynamicRegister{ProductID: "PRODUCT02", SealedSecret: []byte("s"), UpdatedAt: at(7)})
		mustNil(t, err)
		mustNil(t, rs.DeleteProduct(ctx, "PRODUCT02"))
		_, err = s.EnsureDynamicRegister(ctx, registry.DynamicRegister{ProductID: "PRODUCT02", SealedSecret: []byte("s"), UpdatedAt: at(8)})
		wantErr(t, "settings of a deleted product", err, registry.ErrProductNotFound)
	})

	t.Run("DeviceLogs", func(t *testing.T) { testDeviceLogs(t, rs) })
}

func testDeviceLogs(t *testing.T, rs registry.Store) {
	s, ok := rs.(devicelog.Store)
	if !ok {
		t.Fatalf("%T does not implement devicelog.Store", rs)
	}
	ctx := context.Background()
	entry := func(dn string, minute int, line string) devicelog.Entry {
		return devicelog.Entry{ProductID: "PRODUCT01", DeviceName: dn, Received: at(minute),
			DeviceTime: "2026-03-01 12:00:00", Level: "INF", Line: line}
	}
	mustNil(t, s.AppendDeviceLogs(ctx, []devicelog.Entry{
		entry("dev", 1, "one"), entry("dev", 2, "two"), entry("dev", 2, "three"), entry("other", 2, "x"),
	}))
	lines := func(es []devicelog.Entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Line)
		}
		return out
	}
	tests := []struct {
		name  string
		q     devicelog.Query
		want  []string
		total int64
	}{
		{"all newest first", devicelog.Query{ProductID: "PRODUCT01", DeviceName: "dev"}, []string{"three", "two", "one"}, 3},
		{"page", devicelog.Query{ProductID: "PRODUCT01", DeviceName: "dev", Offset: 1, Limit: 1}, []string{"two"}, 3},
		{"since", devicelog.Query{ProductID: "PRODUCT01", DeviceName: "dev", Since: at(2)}, []string{"three", "two"}, 2},
		{"until", devicelog.Query{ProductID: "PRODUCT01", DeviceName: "dev", Until: at(2)}, []string{"one"}, 1},
		{"other device", devicelog.Query{ProductID: "PRODUCT01", DeviceName: "none"}, nil, 0},
	}
	for _, tc := range tests {
		got, total, err := s.ListDeviceLogs(ctx, tc.q)
		mustNil(t, err)
		if total != tc.total || !slicesEqual(lines(got), tc.want) {
			t.Errorf("%s: got %v (total %d), want %v (total %d)", tc.name, lines(got), total, tc.want, tc.total)
		}
	}
	got, _, err := s.ListDeviceLogs(ctx, devicelog.Query{ProductID: "PRODUCT01", DeviceName: "dev", Limit: 1})
	mustNil(t, err)
	if len(got) != 1 || got[0].Received != at(2) || got[0].Level != "INF" || got[0].DeviceTime != "2026-03-01 12:00:00" || got[0].ID == 0 {
		t.Errorf("entry = %+v", got)
	}
	n, err := s.DeleteDeviceLogsBefore(ctx, at(2))
	mustNil(t, err)
	if n != 1 {
		t.Errorf("deleted %d, want 1", n)
	}
	_, total, err := s.ListDeviceLogs(ctx, devicelog.Query{ProductID: "PRODUCT01", DeviceName: "dev"})
	mustNil(t, err)
	if total != 2 {
		t.Errorf("after prune total = %d, want 2", total)
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
