package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/store/postgres"
	"github.com/thingo-iot/thingo/internal/store/storetest"
)

// openTestStore opens a store in a fresh schema of the database named by
// THINGO_TEST_POSTGRES_URL and drops the schema when the test ends.
func openTestStore(t *testing.T) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), freshSchemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// freshSchemaURL creates a schema with a random name, dropped when the test
// ends, and returns THINGO_TEST_POSTGRES_URL with search_path set to it.
func freshSchemaURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("THINGO_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("THINGO_TEST_POSTGRES_URL not set: skipping PostgreSQL conformance run")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer admin.Close(ctx)

	buf := make([]byte, 8)
	_, _ = rand.Read(buf)
	schema := "thingo_test_" + hex.EncodeToString(buf)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("THINGO_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestConformance(t *testing.T) {
	if os.Getenv("THINGO_TEST_POSTGRES_URL") == "" {
		t.Skip("THINGO_TEST_POSTGRES_URL not set: skipping PostgreSQL conformance run")
	}
	storetest.Run(t, func(t *testing.T) registry.Store { return openTestStore(t) })
}

func TestMigrationsAreNumbered(t *testing.T) {
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.Version != int64(i+1) {
			t.Errorf("migration %s has version %d, want %d (no gaps)", m.Name, m.Version, i+1)
		}
	}
}

// TestConcurrentOpen starts several nodes on one empty database at once: the
// migrations must be applied exactly once, without errors.
func TestConcurrentOpen(t *testing.T) {
	u := freshSchemaURL(t)
	ctx := context.Background()
	var g errgroup.Group
	for range 4 {
		g.Go(func() error {
			s, err := postgres.Open(ctx, u)
			if err != nil {
				return err
			}
			return s.Close()
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
	}
}
