package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// putBody PUTs body to a signed upload link.
func putBody(t *testing.T, url string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("PUT %s: %s", url, res.Status)
	}
}

// TestAdminOTAAndResources drives `thingo admin ota` (a staged rollout
// paused, resumed and canceled) and `thingo admin resource` against a node.
func TestAdminOTAAndResources(t *testing.T) {
	node := startNode(t)
	cli := node.cli
	project := cli("admin", "create-project", "--name", "demo")["Project"].(map[string]any)["ProjectId"].(string)
	pid := cli("admin", "create-product", "--project", project, "--name", "lamp")["Product"].(map[string]any)["ProductId"].(string)
	cli("admin", "create-device", "--product", pid, "--name", "d1")
	cli("admin", "create-device", "--product", pid, "--name", "d2")

	// Firmware through the API (GetCOSURL + UploadFirmware).
	client, err := newAPIClient(node.api, node.data, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	fw := []byte(strings.Repeat("firmware", 100))
	sum := md5.Sum(fw)
	var cos struct{ Url string }
	ctx := context.Background()
	if err := client.Call(ctx, "GetCOSURL", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "FileSize": len(fw)}, &cos); err != nil {
		t.Fatal(err)
	}
	putBody(t, cos.Url, fw)
	if err := client.Call(ctx, "UploadFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0",
		"Md5sum": hex.EncodeToString(sum[:]), "FileSize": len(fw), "FirmwareName": "fw"}, nil); err != nil {
		t.Fatal(err)
	}

	task := cli("admin", "ota", "create", "--product", pid, "--version", "2.0.0", "--devices", "d1,d2",
		"--rollout-batch", "1", "--pause-failure-percent", "50")["TaskId"].(float64)
	id := strconv.FormatInt(int64(task), 10)
	status := func() map[string]any {
		t.Helper()
		return cli("admin", "ota", "status", "--product", pid, "--version", "2.0.0", "--task", id)
	}
	if st := status(); st["RolloutBatch"] != float64(1) || st["PauseFailurePercent"] != float64(50) || st["Status"] != float64(1) {
		t.Fatalf("ota status = %v", st)
	}
	if devs := cli("admin", "ota", "devices", "--product", pid, "--version", "2.0.0", "--task", id); devs["Total"] != float64(2) {
		t.Fatalf("ota devices = %v", devs)
	}
	steps := []struct {
		name   string
		args   []string
		code   int
		status float64
		stderr string
	}{
		{"pause", []string{"pause"}, 0, 4, ""},
		{"pause again", []string{"pause"}, 1, 4, "InvalidParameterValue"},
		{"resume", []string{"resume"}, 0, 1, ""},
		{"resume running", []string{"resume"}, 1, 1, "InvalidParameterValue"},
		{"cancel", []string{"cancel"}, 0, 3, ""},
	}
	for _, s := range steps {
		_, code, stderr := node.try(append([]string{"admin", "ota"}, append(s.args, "--product", pid, "--task", id)...)...)
		if code != s.code || !strings.Contains(stderr, s.stderr) {
			t.Errorf("%s: exit %d, stderr %q; want %d with %q", s.name, code, stderr, s.code, s.stderr)
		}
		if st := status(); st["Status"] != float64(s.status) {
			t.Errorf("%s: task status %v, want %v", s.name, st["Status"], s.status)
		}
	}

	// Resources: upload, push (the device is offline: pending), list, delete.
	url := cli("admin", "resource", "upload-url", "--product", pid, "--name", "tone.wav", "--version", "1")["Url"].(string)
	putBody(t, url, []byte("RIFF...."))
	pushed := cli("admin", "resource", "push", "--product", pid, "--devices", "d1", "--name", "tone.wav", "--version", "1", "--type", "AUDIO")
	list := cli("admin", "resource", "list", "--product", pid, "--device", "d1")
	for _, m := range []map[string]any{pushed, list} {
		res, _ := m["Resources"].([]any)
		if len(res) != 1 || res[0].(map[string]any)["Status"] != "pending" || res[0].(map[string]any)["ResourceName"] != "tone.wav" {
			t.Errorf("resources = %v", m)
		}
	}
	if up := cli("admin", "resource", "list", "--product", pid, "--device", "d1", "--uploads"); up["TotalCount"] != float64(0) {
		t.Errorf("uploads = %v", up)
	}
	if _, code, _ := node.try("admin", "resource", "delete", "--product", pid, "--device", "d1", "--name", "tone.wav"); code != 1 {
		t.Errorf("delete on an offline device: exit %d, want 1", code)
	}
	usage := []struct {
		args []string
		want string
	}{
		{[]string{"admin", "ota"}, "want a subcommand"},
		{[]string{"admin", "resource", "frobnicate"}, "unknown subcommand"},
	}
	for _, u := range usage {
		if _, code, stderr := node.try(u.args...); code != 2 || !strings.Contains(stderr, u.want) {
			t.Errorf("%v: exit %d, stderr %q", u.args, code, stderr)
		}
	}
}
