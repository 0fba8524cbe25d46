package ota_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/thingo-iot/thingo/internal/ota"
)

// TestReplayWire feeds the $ota/report lines the official SDKs sent
// (../shared/testdata/wire) to the service.
func TestReplayWire(t *testing.T) {
	tests := []struct {
		log       string
		wantState ota.State
	}{
		{"c-sdk-mqtt.log", ota.StateDone},
		// The Python run reports done first; its later -4/-5 attempts come
		// after the task entry finished and change nothing.
		{"py-sdk-mqtt.log", ota.StateDone},
	}
	for _, tc := range tests {
		t.Run(tc.log, func(t *testing.T) {
			raw, err := os.ReadFile("../../../shared/testdata/wire/" + tc.log)
			if err != nil {
				t.Skipf("wire log not available: %v", err)
			}
			f := newFixture(t)
			ctx := context.Background()
			_, err = f.svc.Upload(ctx, ota.Firmware{ProductID: "PROD000001", Version: "2.0.0", MD5: md5sum, Size: 150000})
			must(t, err)
			zero := int64(0)
			_, err = f.svc.CreateTask(ctx, ota.TaskInput{ProductID: "PROD000001", Version: "2.0.0", DeviceNames: []string{"dev1"}, MaxRetry: &zero})
			must(t, err)
			f.pub.online["dev1"] = true
			versions := 0
			sc := bufio.NewScanner(bytes.NewReader(raw))
			for sc.Scan() {
				topic, payload, ok := strings.Cut(sc.Text(), " ")
				if !ok || !strings.HasPrefix(topic, "$ota/report/") {
					continue
				}
				if strings.Contains(payload, "report_version") {
					versions++
				}
				f.report("dev1", payload)
			}
			rsps := 0
			for _, m := range f.pub.sent {
				if m.payload["type"] == "report_version_rsp" {
					rsps++
				}
			}
			if versions == 0 || rsps != versions {
				t.Errorf("%d report_version, %d report_version_rsp", versions, rsps)
			}
			if d := f.state(t, "dev1"); d.State != tc.wantState {
				t.Errorf("final state %s, want %s (%+v)", d.State, tc.wantState, d)
			}
		})
	}
}
