package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAdminRemoteConfigAndTWecall drives `thingo admin remote-config` and
// `thingo admin twecall-pool` against a running node.
func TestAdminRemoteConfigAndTWecall(t *testing.T) {
	node := startNode(t)
	cli, must := node.try, node.cli
	project := must("admin", "create-project", "--name", "demo")["Project"].(map[string]any)["ProjectId"].(string)
	product := must("admin", "create-product", "--project", project, "--name", "bell")["Product"].(map[string]any)["ProductId"].(string)

	tests := []struct {
		name   string
		args   []string
		code   int
		output string // substring of the JSON output or of stderr
	}{
		{"show missing", []string{"remote-config", "--product", product}, 1, "RemoteConfigNotExist"},
		{"set", []string{"remote-config", "--product", product, "--enable", "--payload", `{"a":1}`}, 0, `"Enabled":true`},
		{"show", []string{"remote-config", "--product", product}, 0, `{\"a\":1}`},
		{"push", []string{"remote-config", "--product", product, "--push"}, 0, `"DeviceCount":0`},
		{"both flags", []string{"remote-config", "--product", product, "--enable", "--disable"}, 2, "exclude"},
		{"delete", []string{"remote-config", "--product", product, "--delete"}, 0, `"RequestId"`},
		{"pools empty", []string{"twecall-pool", "--product", product}, 0, `"Pools":[]`},
		{"set pool", []string{"twecall-pool", "--product", product, "--pkg-type", "2", "--total", "10"}, 0, `"RequestId"`},
		{"pools", []string{"twecall-pool", "--product", product}, 0, `"Total":10`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, code, stderr := cli(append([]string{"admin"}, tc.args...)...)
			b, _ := json.Marshal(m)
			if code != tc.code || !strings.Contains(string(b)+stderr, tc.output) {
				t.Errorf("exit %d, output %s %s; want exit %d with %s", code, b, stderr, tc.code, tc.output)
			}
		})
	}
}
