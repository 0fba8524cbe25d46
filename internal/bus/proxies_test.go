package bus

import (
	"errors"
	"testing"
)

func TestSubDeviceNodes(t *testing.T) {
	b := openTest(t, Options{})
	ctx := testCtx(t)
	s, err := b.OpenSubDeviceNodes(ctx)
	if err != nil {
		t.Fatalf("OpenSubDeviceNodes: %v", err)
	}
	if _, err := b.OpenSubDeviceNodes(ctx); err != nil {
		t.Fatalf("OpenSubDeviceNodes again: %v", err)
	}
	onA := SubDeviceRecord{Node: "a", GatewayProductID: "GWPRODUCT1", GatewayDeviceName: "gw1"}
	onB := SubDeviceRecord{Node: "b", GatewayProductID: "GWPRODUCT1", GatewayDeviceName: "gw1"}
	otherGW := SubDeviceRecord{Node: "a", GatewayProductID: "GWPRODUCT1", GatewayDeviceName: "gw2"}

	if _, err := s.Get(ctx, "SUBPRODUCT", "sub:1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing = %v, want ErrNotFound", err)
	}
	if err := s.Put(ctx, "SUBPRODUCT", "sub:1", SubDeviceRecord{}); !errors.Is(err, ErrInvalidID) {
		t.Fatalf("Put without node = %v, want ErrInvalidID", err)
	}
	if err := s.Put(ctx, "", "sub", onA); !errors.Is(err, ErrInvalidID) {
		t.Fatalf("Put with empty product = %v, want ErrInvalidID", err)
	}
	steps := []struct {
		name   string
		put    *SubDeviceRecord
		delete *SubDeviceRecord
		want   *SubDeviceRecord // nil: no record
	}{
		{name: "online on a", put: &onA, want: &onA},
		{name: "stale delete of another gateway keeps it", delete: &otherGW, want: &onA},
		{name: "moved to b", put: &onB, want: &onB},
		{name: "late delete from a keeps b", delete: &onA, want: &onB},
		{name: "offline on b", delete: &onB},
		{name: "delete missing", delete: &onB},
	}
	for _, st := range steps {
		if st.put != nil {
			if err := s.Put(ctx, "SUBPRODUCT", "sub:1", *st.put); err != nil {
				t.Fatalf("%s: Put: %v", st.name, err)
			}
		}
		if st.delete != nil {
			if err := s.Delete(ctx, "SUBPRODUCT", "sub:1", *st.delete); err != nil {
				t.Fatalf("%s: Delete: %v", st.name, err)
			}
		}
		got, err := s.Get(ctx, "SUBPRODUCT", "sub:1")
		switch {
		case st.want == nil && !errors.Is(err, ErrNotFound):
			t.Errorf("%s: Get = %+v, %v; want ErrNotFound", st.name, got, err)
		case st.want != nil && (err != nil || got != *st.want):
			t.Errorf("%s: Get = %+v, %v; want %+v", st.name, got, err, *st.want)
		}
	}
}
