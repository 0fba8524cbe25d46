package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/thingo-iot/thingo/internal/store/postgres"
	"github.com/thingo-iot/thingo/internal/store/storetest"
)

// TestUpgradeReportHistory opens a database at schema version 8 holding
// property_history rows with every migration and checks the old history.
func TestUpgradeReportHistory(t *testing.T) {
	s, _ := openUpgraded(t, 9, func(exec func(string, ...any)) {
		for _, r := range storetest.OldHistory {
			exec(`INSERT INTO property_history (id, product_id, device_name, property_id, ts, value)
				OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6)`,
				r.ID, r.ProductID, r.DeviceName, r.PropertyID, r.TS, r.Value)
		}
	})
	storetest.CheckUpgradedHistory(t, s)
}

// openUpgraded creates a fresh schema at the version below version (the
// older migrations applied and recorded as the store would), lets fill
// insert the rows of that schema through exec, and opens it with
// postgres.Open, which applies the newer migrations. It returns the store
// and the connection it filled the schema with (for what an old node would
// do next); both are closed when the test ends.
func openUpgraded(t *testing.T, version int64, fill func(exec func(query string, args ...any))) (*postgres.Store, *pgx.Conn) {
	t.Helper()
	u := freshSchemaURL(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := c.Exec(ctx, query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`)
	for _, m := range ms {
		if m.Version >= version {
			break
		}
		exec(m.SQL)
		exec(`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`, m.Version)
	}
	fill(exec)
	s, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}
