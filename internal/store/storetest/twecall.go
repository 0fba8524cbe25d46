package storetest

import (
	"context"
	"testing"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/twecall"
)

// testTWecall checks the twecall.Store side of a store: pools, atomic
// activation and the device cascade.
func testTWecall(t *testing.T, rs registry.Store) {
	s, ok := rs.(twecall.Store)
	if !ok {
		t.Fatalf("%T does not implement twecall.Store", rs)
	}
	ctx := context.Background()
	seed(t, rs)
	for _, dn := range []string{"d1", "d2", "d3"} {
		mustNil(t, rs.CreateDevice(ctx, device("PRODUCT01", dn, 0)))
	}
	pools, err := s.ListLicensePools(ctx, "PRODUCT01")
	mustNil(t, err)
	if len(pools) != 0 {
		t.Errorf("pools of a new product = %+v", pools)
	}
	wantErr(t, "pool of missing product", s.PutLicensePool(ctx, twecall.Pool{ProductID: "NOPRODUCT0", Total: 1}),
		registry.ErrProductNotFound)
	mustNil(t, s.PutLicensePool(ctx, twecall.Pool{ProductID: "PRODUCT01", PkgType: 3, Total: 1, ValidDays: 30, UpdatedAt: at(1)}))
	mustNil(t, s.PutLicensePool(ctx, twecall.Pool{ProductID: "PRODUCT01", PkgType: 1, Total: 5, ValidDays: 7, UpdatedAt: at(1)}))

	act := func(dn string, pkg int) twecall.Activation {
		return twecall.Activation{ProductID: "PRODUCT01", DeviceName: dn, PkgType: pkg, ModelID: "m", SN: "PRODUCT01_" + dn,
			ActivatedAt: at(2), ExpireAt: at(60)}
	}
	_, err = s.GetActivation(ctx, "PRODUCT01", "d1")
	wantErr(t, "no activation", err, twecall.ErrNotActivated)
	mustNil(t, s.ActivateLicense(ctx, act("d1", 3)))
	wantErr(t, "pool exhausted", s.ActivateLicense(ctx, act("d2", 3)), twecall.ErrNoLicense)
	wantErr(t, "no pool", s.ActivateLicense(ctx, act("d2", 0)), twecall.ErrNoLicense)
	wantErr(t, "missing device", s.ActivateLicense(ctx, act("nodev", 1)), registry.ErrDeviceNotFound)
	got, err := s.GetActivation(ctx, "PRODUCT01", "d1")
	mustNil(t, err)
	if got != act("d1", 3) {
		t.Errorf("GetActivation = %+v, want %+v", got, act("d1", 3))
	}

	// Raising the total keeps what was used; a failed activation used none.
	mustNil(t, s.PutLicensePool(ctx, twecall.Pool{ProductID: "PRODUCT01", PkgType: 3, Total: 2, ValidDays: 30, UpdatedAt: at(3)}))
	pools, err = s.ListLicensePools(ctx, "PRODUCT01")
	mustNil(t, err)
	if len(pools) != 2 || pools[0].PkgType != 1 || pools[0].Used != 0 || pools[1].Used != 1 || pools[1].Total != 2 ||
		!pools[1].UpdatedAt.Equal(at(3)) {
		t.Errorf("pools = %+v", pools)
	}
	mustNil(t, s.ActivateLicense(ctx, act("d2", 3)))

	mustNil(t, rs.DeleteDevice(ctx, "PRODUCT01", "d1"))
	_, err = s.GetActivation(ctx, "PRODUCT01", "d1")
	wantErr(t, "activation of deleted device", err, twecall.ErrNotActivated)
}
