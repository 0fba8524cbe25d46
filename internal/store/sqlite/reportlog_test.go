package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/store/storetest"
)

// TestUpgradeReportLog opens a database at schema version 9 holding
// report_history and device_properties rows with every migration: the old
// rows read as before and staged reports take ids above them.
func TestUpgradeReportLog(t *testing.T) {
	s := openUpgraded(t, 10, func(exec func(string, ...any)) {
		for _, r := range storetest.OldReports {
			exec(`INSERT INTO report_history (id, product_id, device_name, ts, params)
				VALUES (?, ?, ?, ?, ?)`, r.ID, r.ProductID, r.DeviceName, r.TS, r.Params)
		}
		for _, v := range storetest.OldLatestValues {
			exec(`INSERT INTO device_properties (product_id, device_name, property_id, value, updated_at)
				VALUES (?, ?, ?, ?, ?)`, v.ProductID, v.DeviceName, v.PropertyID, v.Value, v.UpdatedAt)
		}
	})
	storetest.CheckUpgradedReports(t, s)
}

// TestCompactingNodes writes and compacts reports through two stores on
// one database file: every report lands in report_history exactly once.
func TestCompactingNodes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nodes.db")
	var nodes []devicedata.Store
	var first *Store
	for range 2 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if first == nil {
			first = s
		}
		nodes = append(nodes, s)
	}
	written := storetest.WriteAndCompactOnNodes(t, nodes)
	var history, staged int
	if err := first.db.read.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM report_history),
		(SELECT COUNT(*) FROM report_log)`).Scan(&history, &staged); err != nil {
		t.Fatal(err)
	}
	if history != written || staged != 0 {
		t.Errorf("report_history holds %d rows and report_log %d; want %d and 0", history, staged, written)
	}
}
