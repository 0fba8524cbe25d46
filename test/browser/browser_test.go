// Package browser_test drives the web console in a real Chromium: a real
// node (apptest), a simulated smart light on our Go SDK, and flow.mjs
// (playwright-core) clicking through the console. See README.md.
package browser_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/apptest"
	"github.com/thingo-iot/thingo/protocol"
)

const (
	chromiumPath = "/usr/bin/chromium"
	// flowTimeout bounds the whole browser script.
	flowTimeout = 3 * time.Minute
	// reportEvery is how often the simulated light reports its brightness.
	reportEvery = 300 * time.Millisecond
)

// requireBrowser skips (or, with THINGO_REQUIRE_BROWSER=1, fails) when the
// browser test cannot run here; it returns the node binary.
func requireBrowser(t *testing.T) string {
	t.Helper()
	var missing []string
	if _, err := os.Stat(chromiumPath); err != nil {
		missing = append(missing, chromiumPath+" (apt-get install chromium)")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "test/browser/node_modules/playwright-core (cd test/browser && npm ci)")
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node on PATH")
	}
	if len(missing) > 0 {
		msg := "browser test needs " + strings.Join(missing, ", ")
		if os.Getenv("THINGO_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg + " (THINGO_REQUIRE_BROWSER=1)")
		}
		t.Skip(msg)
	}
	return nodeBin
}

// screenshotDir is $THINGO_SCREENSHOTS or test/browser/out/screenshots
// (emptied first).
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("THINGO_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("out", "screenshots")
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		t.Fatal(err)
	}
	return abs
}

func TestConsoleInBrowser(t *testing.T) {
	nodeBin := requireBrowser(t)
	shots := screenshotDir(t)
	t.Logf("screenshots: %s", shots)

	n := apptest.Start(t, "")
	cred := n.App.AdminCredential()
	mqttAddr := n.App.MQTTAddr("tcp")
	if mqttAddr == nil || n.App.HTTPAddr() == nil {
		t.Fatal("the node has no HTTP or MQTT TCP listener")
	}

	ctx, cancel := context.WithTimeout(context.Background(), flowTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin, "flow.mjs")
	cmd.Env = append(os.Environ(),
		"THINGO_URL=http://"+n.App.HTTPAddr().String(),
		"THINGO_SECRET_ID="+cred.SecretID,
		"THINGO_SECRET_KEY="+cred.SecretKey,
		"THINGO_SCREENSHOTS="+shots,
	)
	cmd.WaitDelay = 10 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node flow.mjs: %v", err)
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		logLines(t, "flow", stderr)
	}()

	var light *lamp
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		productID, deviceName, ok := parseDeviceLine(line)
		if !ok {
			t.Logf("flow stdout: %s", line)
			continue
		}
		if light != nil {
			t.Errorf("flow printed a second DEVICE line: %s", line)
			continue
		}
		light, err = startLamp(ctx, t, n, productID, deviceName, "tcp://"+mqttAddr.String())
		if err != nil {
			t.Errorf("simulated device: %v", err)
			break // closing stdin below makes the flow fail at READY
		}
		if _, err := io.WriteString(stdin, "READY\n"); err != nil {
			t.Errorf("write READY to the flow: %v", err)
		}
	}
	_ = stdin.Close()
	_, _ = io.Copy(io.Discard, stdout) // after a break above
	wg.Wait()
	werr := cmd.Wait()
	if light != nil {
		light.stop()
	}
	if ctx.Err() != nil {
		t.Fatalf("flow.mjs did not finish within %v (screenshots in %s)", flowTimeout, shots)
	}
	if werr != nil {
		t.Fatalf("flow.mjs failed: %v (its log is above; screenshots in %s)", werr, shots)
	}
	if light == nil {
		t.Fatal("flow.mjs passed without creating a device (no DEVICE line)")
	}
	checkControlReceived(t, n, light)
}

// checkControlReceived checks that the console's control really reached the
// device and that the platform recorded the device's new state.
func checkControlReceived(t *testing.T, n *apptest.Node, light *lamp) {
	t.Helper()
	if got := light.controls(); len(got) == 0 || !hasPowerOn(got) {
		t.Errorf("the device's control handler got %v, want a control with power_switch=1", got)
	}
	if light.actionCalls() == 0 {
		t.Error("the device's light_blink handler was never called")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var resp struct{ Data string }
	if err := n.API.Call(ctx, "DescribeDeviceData", map[string]any{"ProductId": light.productID, "DeviceName": light.deviceName}, &resp); err != nil {
		t.Fatalf("DescribeDeviceData: %v", err)
	}
	var data map[string]struct{ Value json.RawMessage }
	if err := json.Unmarshal([]byte(resp.Data), &data); err != nil {
		t.Fatalf("DescribeDeviceData Data %q: %v", resp.Data, err)
	}
	if v := string(data["power_switch"].Value); v != "1" && v != "true" {
		t.Errorf("the platform's power_switch is %q, want 1 (DescribeDeviceData %s)", v, resp.Data)
	}
}

func hasPowerOn(controls []map[string]any) bool {
	for _, c := range controls {
		if v, ok := c["power_switch"].(float64); ok && v == 1 {
			return true
		}
		if v, ok := c["power_switch"].(bool); ok && v {
			return true
		}
	}
	return false
}

// parseDeviceLine reads the flow's "DEVICE <productId> <deviceName>" line;
// ok is false for any other line.
func parseDeviceLine(line string) (productID, deviceName string, ok bool) {
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "DEVICE" || !protocol.ValidProductID(f[1]) || !protocol.ValidDeviceName(f[2]) {
		return "", "", false
	}
	return f[1], f[2], true
}

// logLines copies r to the test log line by line.
func logLines(t *testing.T, prefix string, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		t.Logf("%s: %s", prefix, sc.Text())
	}
	if err := sc.Err(); err != nil && !errors.Is(err, os.ErrClosed) {
		t.Logf("%s: reading: %v", prefix, err)
	}
}

// errNoSecret is returned when DescribeDevice has no key for the device.
var errNoSecret = errors.New("DescribeDevice returned no DevicePsk (is the product a key product?)")

// deviceSecret reads the device key the console created through the API.
func deviceSecret(ctx context.Context, n *apptest.Node, productID, deviceName string) (string, error) {
	var resp struct{ Device struct{ DevicePsk string } }
	if err := n.API.Call(ctx, "DescribeDevice", map[string]any{"ProductId": productID, "DeviceName": deviceName}, &resp); err != nil {
		return "", fmt.Errorf("DescribeDevice: %w", err)
	}
	if resp.Device.DevicePsk == "" {
		return "", errNoSecret
	}
	return resp.Device.DevicePsk, nil
}
