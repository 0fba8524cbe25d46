package e2e

import (
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"
)

// countUpdates reads the $ota/update messages of o for d and returns how
// many were update_firmware.
func countUpdates(t *testing.T, o *otaDevice, d time.Duration) int {
	t.Helper()
	n := 0
	timeout := time.After(d)
	for {
		select {
		case b := <-o.msgs:
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("bad $ota/update payload %s", b)
			}
			if m["type"] == "update_firmware" {
				n++
			}
		case <-timeout:
			return n
		}
	}
}

// TestClusterOTAPushedOnce: an upgrade task created through node A for
// devices on both nodes is pushed once per device (one node runs the
// engine); after A stops, B runs the engine for a new task.
func TestClusterOTAPushedOnce(t *testing.T) {
	a, b := startCluster(t)
	pid := a.newProduct("2")
	fw := make([]byte, 4096)
	_, _ = rand.Read(fw)
	a.uploadFirmware(pid, "2.0.0", fw)

	var devs []*otaDevice
	var names []string
	for i, s := range []*server{a, a, b, b} {
		d := a.newDevice(pid, "ota"+string(rune('a'+i)))
		od := connectOTA(t, s, d)
		od.reportVersion("1.0.0")
		devs = append(devs, od)
		names = append(names, d.Name)
	}
	var task struct{ TaskId uint64 }
	a.mustCall("BatchUpdateFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "DeviceNames": names}, &task)
	for _, od := range devs {
		m, _ := od.next("update_firmware")
		if m["version"] != "2.0.0" {
			t.Fatalf("%s: update_firmware = %v", od.d.Name, m)
		}
	}
	// A few engine ticks (1 s each): nobody pushes again (the retry
	// interval is a minute).
	for _, od := range devs {
		if n := countUpdates(t, od, time.Second); n != 0 {
			t.Errorf("%s: %d more update_firmware, want 0", od.d.Name, n)
		}
	}
	if n := countUpdates(t, devs[0], 2*time.Second); n != 0 {
		t.Errorf("%s: %d more update_firmware, want 0", devs[0].d.Name, n)
	}

	// A stops (handing over its lease if it led): B's engine pushes a task
	// created through B.
	a.stop()
	late := b.newDevice(pid, "otalate")
	od := connectOTA(t, b, late)
	od.reportVersion("1.0.0")
	b.mustCall("BatchUpdateFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "DeviceNames": []string{late.Name}}, &task)
	if m, _ := od.next("update_firmware"); m["version"] != "2.0.0" {
		t.Fatalf("update_firmware after A stopped = %v", m)
	}
}
