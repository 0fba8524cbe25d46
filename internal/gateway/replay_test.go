package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestReplaySDKTranscripts replays the $gateway lines of the C and Python
// SDK transcripts (testdata/sdk-gateway.log, from
// ../shared/testdata/wire/*-sdk-mqtt.log; the C SDK's BIND_PID lines are
// left out, BIND_PID is not a valid product id). The transcripts' sub-device
// psks are unknown, so their bind is done through the API and only its
// reply shape is checked; describe_sub_devices must list at least the
// transcript's devices (sub003, bound on the platform, is listed too).
func TestReplaySDKTranscripts(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	if err := f.svc.BindDevices(ctx, "AB12CD34EF", "dev001", "SUBPID0001", []string{"sub001", "sub002"}); err != nil {
		t.Fatal(err)
	}
	f.svc.GatewayConnected("AB12CD34EF", "dev001")
	file, err := os.Open("testdata/sdk-gateway.log")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	var pending []byte
	var pendingType string
	n := 0
	for sc.Scan() {
		topic, payload, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if topic == "$gateway/operation/AB12CD34EF/dev001" {
			var req struct {
				Type    string `json:"type"`
				Payload struct {
					Devices []struct {
						ProductID  string `json:"product_id"`
						DeviceName string `json:"device_name"`
					} `json:"devices"`
				} `json:"payload"`
			}
			if err := json.Unmarshal([]byte(payload), &req); err != nil {
				t.Fatal(err)
			}
			pendingType = req.Type
			if req.Type == "bind" {
				for _, d := range req.Payload.Devices {
					if err := f.svc.BindDevices(ctx, "AB12CD34EF", "dev001", d.ProductID, []string{d.DeviceName}); err != nil {
						t.Fatal(err)
					}
				}
				continue
			}
			r, ok := f.svc.Operate(ctx, "AB12CD34EF", "dev001", []byte(payload))
			if !ok {
				t.Fatalf("no reply to %s", payload)
			}
			if pending, err = json.Marshal(r); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if topic != "$gateway/operation/result/AB12CD34EF/dev001" {
			continue
		}
		n++
		switch pendingType {
		case "bind":
		case "describe_sub_devices":
			for _, dn := range []string{"sub001", "sub002", "sub003"} {
				if strings.Contains(payload, `"`+dn+`"`) && !strings.Contains(string(pending), `"`+dn+`"`) {
					t.Errorf("describe = %s, want %s listed", pending, dn)
				}
			}
		default:
			if string(pending) != payload {
				t.Errorf("reply = %s\nwant    %s", pending, payload)
			}
		}
	}
	if n != 9 {
		t.Errorf("replayed %d replies, want 9", n)
	}
}
