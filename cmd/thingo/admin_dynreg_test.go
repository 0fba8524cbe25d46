package main

import (
	"testing"
)

// TestAdminDynregAndDeviceLogs drives `thingo admin dynreg` and
// `thingo admin device-logs` against a running node.
func TestAdminDynregAndDeviceLogs(t *testing.T) {
	node := startNode(t)
	cli := node.cli
	project := cli("admin", "create-project", "--name", "demo")["Project"].(map[string]any)["ProjectId"].(string)
	product := cli("admin", "create-product", "--project", project, "--name", "lamp")["Product"].(map[string]any)["ProductId"].(string)
	cli("admin", "create-device", "--product", product, "--name", "dev1")

	shown := cli("admin", "dynreg", "--product", product)
	secret, _ := shown["ProductSecret"].(string)
	if len(secret) < 24 || shown["RegisterType"] != float64(0) {
		t.Fatalf("dynreg shows %v", shown)
	}
	set := cli("admin", "dynreg", "--product", product, "--type", "2", "--limit", "5")
	if set["RegisterType"] != float64(2) || set["RegisterLimit"] != float64(5) || set["ProductSecret"] != secret {
		t.Errorf("dynreg set %v", set)
	}
	logs := cli("admin", "device-logs", "--product", product, "--name", "dev1")
	if logs["Total"] != float64(0) {
		t.Errorf("device-logs %v", logs)
	}
}
