package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAdminAlertFence drives `thingo admin alert-fence` against a running
// node; the device is not connected, so a valid event fails as offline.
func TestAdminAlertFence(t *testing.T) {
	node := startNode(t)
	cli, must := node.try, node.cli
	project := must("admin", "create-project", "--name", "demo")["Project"].(map[string]any)["ProjectId"].(string)
	product := must("admin", "create-product", "--project", project, "--name", "car")["Product"].(map[string]any)["ProductId"].(string)
	must("admin", "create-device", "--product", product, "--name", "car1")

	tests := []struct {
		name   string
		args   []string
		code   int
		output string // substring of the JSON output or of stderr
	}{
		{"offline", []string{"--product", product, "--name", "car1", "--fence", "home", "--long", "113.9", "--lat", "22.5"}, 1, "DeviceOffline"},
		{"bad type", []string{"--product", product, "--name", "car1", "--fence", "home", "--type", "Up"}, 1, "InvalidParameterValue"},
		{"no fence", []string{"--product", product, "--name", "car1"}, 1, "FenceName"},
		{"no device", []string{"--product", product, "--name", "nope", "--fence", "home"}, 1, "ResourceNotFound"},
		{"bad flag", []string{"--long", "east"}, 2, "invalid value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, code, stderr := cli(append([]string{"admin", "alert-fence"}, tc.args...)...)
			b, _ := json.Marshal(m)
			if code != tc.code || !strings.Contains(string(b)+stderr, tc.output) {
				t.Errorf("exit %d, output %s %s; want exit %d with %s", code, b, stderr, tc.code, tc.output)
			}
		})
	}
}
