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
	u := freshSchemaURL(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	migrateBelow(t, c, 9)
	for _, r := range storetest.OldHistory {
		if _, err := c.Exec(ctx, `INSERT INTO property_history (id, product_id, device_name, property_id, ts, value)
			OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6)`,
			r.ID, r.ProductID, r.DeviceName, r.PropertyID, r.TS, r.Value); err != nil {
			t.Fatal(err)
		}
	}
	s, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckUpgradedHistory(t, s)
}

// migrateBelow applies the migrations older than version to the database
// of c, recording them as the store would, so that a test can fill the
// tables of an old schema before the store upgrades it.
func migrateBelow(t *testing.T, c *pgx.Conn, version int64) {
	t.Helper()
	ctx := context.Background()
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version >= version {
			break
		}
		if _, err := c.Exec(ctx, m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := c.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`, m.Version); err != nil {
			t.Fatal(err)
		}
	}
}
