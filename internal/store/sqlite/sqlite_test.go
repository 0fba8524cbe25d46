package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/store/sqlite"
	"github.com/thingo-iot/thingo/internal/store/storetest"
)

func openTemp(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "thingo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) registry.Store { return openTemp(t) })
}

func TestReopenKeepsDataAndSkipsAppliedMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "thingo.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProject(ctx, registry.Project{ID: "P1", Name: "one"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.GetProject(ctx, "P1"); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
}

func TestOpenRejectsBadPaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db", "a.db?mode=ro", "a#b"} {
		if s, err := sqlite.Open(context.Background(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

func TestMigrationsAreNumbered(t *testing.T) {
	ms, err := sqlite.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.Version != int64(i+1) {
			t.Errorf("migration %s has version %d, want %d (no gaps)", m.Name, m.Version, i+1)
		}
	}
}

// BenchmarkGetDevice measures the lookup done at every MQTT CONNECT.
func BenchmarkGetDevice(b *testing.B) {
	ctx := context.Background()
	s := openTemp(b)
	if err := s.CreateProject(ctx, registry.Project{ID: "P1"}); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateProduct(ctx, registry.Product{ID: "PRODUCT01", ProjectID: "P1"}); err != nil {
		b.Fatal(err)
	}
	const devices = 1000
	for i := range devices {
		d := registry.Device{ProductID: "PRODUCT01", Name: deviceName(i), SealedPSK: []byte("0123456789abcdef0123456789abcdef")}
		if err := s.CreateDevice(ctx, d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.GetDevice(ctx, "PRODUCT01", deviceName(i%devices)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func deviceName(i int) string {
	const digits = "0123456789"
	return "dev" + string([]byte{digits[i/100%10], digits[i/10%10], digits[i%10]})
}
