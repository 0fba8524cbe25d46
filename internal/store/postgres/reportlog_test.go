package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/store/postgres"
	"github.com/thingo-iot/thingo/internal/store/storetest"
)

// TestUpgradeReportLog opens a database at schema version 9 holding
// report_history and device_properties rows with every migration: the old
// rows read as before, staged reports take ids above them, and a node of
// the previous version, which inserts into report_history without an id,
// draws from the same sequence.
func TestUpgradeReportLog(t *testing.T) {
	ctx := context.Background()
	s, c := openUpgraded(t, 10, func(exec func(string, ...any)) {
		for _, r := range storetest.OldReports {
			exec(`INSERT INTO report_history (id, product_id, device_name, ts, params)
				VALUES ($1, $2, $3, $4, $5)`, r.ID, r.ProductID, r.DeviceName, r.TS, r.Params)
		}
		for _, v := range storetest.OldLatestValues {
			exec(`INSERT INTO device_properties (product_id, device_name, property_id, value, updated_at)
				VALUES ($1, $2, $3, $4, $5)`, v.ProductID, v.DeviceName, v.PropertyID, v.Value, v.UpdatedAt)
		}
	})
	storetest.CheckUpgradedReports(t, s)

	// A node of the previous version inserts into report_history directly.
	var oldNodeID, maxID int64
	if err := c.QueryRow(ctx, `SELECT MAX(id) FROM report_history`).Scan(&maxID); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(ctx, `INSERT INTO report_history (product_id, device_name, ts, params)
		VALUES ('PRODUCT01', 'dev', 300000, '{"a":6}') RETURNING id`).Scan(&oldNodeID); err != nil {
		t.Fatal(err)
	}
	if oldNodeID <= maxID {
		t.Errorf("report_history id without an explicit one = %d, want above %d", oldNodeID, maxID)
	}
	if err := s.WriteBatch(ctx, devicedata.Batch{Reports: []devicedata.Report{{ProductID: "PRODUCT01", DeviceName: "dev",
		At: time.UnixMilli(300_000).UTC(), Values: []devicedata.PropertyValue{{ID: "a", Value: []byte("7")}}}}}); err != nil {
		t.Fatal(err)
	}
	// This report and the last of CheckUpgradedReports move without an id
	// conflict.
	if n, err := s.CompactReports(ctx, 10); err != nil || n != 2 {
		t.Errorf("CompactReports after an old node's insert = %d, %v; want 2, nil", n, err)
	}
}

// TestCompactingNodes writes and compacts reports through two stores (two
// nodes) on one database: every report lands in report_history exactly
// once.
func TestCompactingNodes(t *testing.T) {
	u := freshSchemaURL(t)
	ctx := context.Background()
	var nodes []devicedata.Store
	for range 2 {
		s, err := postgres.Open(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		nodes = append(nodes, s)
	}
	written := storetest.WriteAndCompactOnNodes(t, nodes)
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var history, staged int
	if err := c.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM report_history), (SELECT COUNT(*) FROM report_log)`).
		Scan(&history, &staged); err != nil {
		t.Fatal(err)
	}
	if history != written || staged != 0 {
		t.Errorf("report_history holds %d rows and report_log %d; want %d and 0", history, staged, written)
	}
}
