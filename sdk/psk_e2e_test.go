package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/protocol"
	"github.com/thingo-iot/thingo/sdk"
)

// newModelProduct creates a key product of the given type (0 normal, 5
// gateway) with the C SDK's example thing model.
func (n *node) newModelProduct(typ int) string {
	n.t.Helper()
	var pr struct{ Project struct{ ProjectId string } }
	n.call("CreateProject", map[string]any{"ProjectName": "sdk", "ProjectDesc": "sdk e2e"}, &pr)
	var prod struct{ Product struct{ ProductId string } }
	n.call("CreateStudioProduct", map[string]any{
		"ProductName": fmt.Sprintf("m%d", time.Now().UnixNano()%1e9), "CategoryId": 1, "ProductType": typ,
		"EncryptionType": "2", "NetType": "wifi", "DataProtocol": 1, "ProductDesc": "sdk",
		"ProjectId": pr.Project.ProjectId,
	}, &prod)
	schema, err := os.ReadFile(filepath.Join("testdata", "c_sdk_example_config.json"))
	if err != nil {
		n.t.Fatal(err)
	}
	n.call("ModifyModelDefinition", map[string]any{"ProductId": prod.Product.ProductId, "ModelSchema": string(schema)}, nil)
	return prod.Product.ProductId
}

// TestE2ETLSPSK: a key device authenticates by TLS-PSK on the TLS
// listener, configured directly or through device_info.json with an
// ssl:// broker; a wrong key never connects.
func TestE2ETLSPSK(t *testing.T) {
	n := startNode(t)
	pid := n.newProduct("2")
	d := n.newDevice(pid, "psk1")

	t.Run("config", func(t *testing.T) {
		c := newClient(t, n.url("tls"), func(cfg *sdk.Config) {
			cfg.ProductID, cfg.DeviceName, cfg.DeviceSecret, cfg.TLSPSK = pid, d.DeviceName, d.DevicePsk, true
			cfg.ServerName = pid + ".iotcloud.tencentdevices.com"
		})
		mustConnect(t, c)
		roundTrip(t, c, pid, d.DeviceName)
		if _, err := c.ReportInfo(context.Background(), map[string]any{"fw_ver": "1.0"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("device_info.json", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "device_info.json")
		info := sdk.DeviceInfo{AuthMode: sdk.AuthModeKey, ProductID: pid, DeviceName: d.DeviceName,
			Key: sdk.KeyDeviceInfo{DeviceSecret: d.DevicePsk}}
		if err := info.Save(path); err != nil {
			t.Fatal(err)
		}
		loaded, err := sdk.LoadDeviceInfo(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg := loaded.Config(n.url("tls"))
		if !cfg.TLSPSK {
			t.Fatal("KEY device with an ssl:// broker: TLSPSK not set")
		}
		cfg.MinBackoff, cfg.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
		c, err := sdk.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		mustConnect(t, c)
		roundTrip(t, c, pid, d.DeviceName)
	})
	t.Run("wrong key", func(t *testing.T) {
		c := newClient(t, n.url("tls"), func(cfg *sdk.Config) {
			cfg.ProductID, cfg.DeviceName, cfg.DeviceSecret, cfg.TLSPSK = pid, d.DeviceName, "AAAAAAAAAAAAAAAAAAAAAA==", true
		})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var ce *sdk.ConnectError
		if err := c.Connect(ctx); !errors.As(err, &ce) || ce.Code != protocol.ConnackBadUsernameOrPassword {
			t.Fatalf("Connect with a wrong key: %v, want ConnectError 0x04", err)
		}
	})
}

// TestE2EPostEvents: a batch is accepted whole, or refused whole when one
// event is not in the thing model.
func TestE2EPostEvents(t *testing.T) {
	n := startNode(t)
	pid := n.newModelProduct(0)
	d := n.newDevice(pid, "ev1")
	c := newClient(t, n.url("tcp"), func(cfg *sdk.Config) {
		cfg.ProductID, cfg.DeviceName, cfg.DeviceSecret = pid, d.DeviceName, d.DevicePsk
	})
	mustConnect(t, c)
	ctx := context.Background()
	tests := []struct {
		name     string
		events   []sdk.Event
		wantCode int // -1: refused locally
	}{
		{"batch", []sdk.Event{
			{ID: "status_report", Type: sdk.EventInfo, Params: map[string]any{"status": 1, "message": "ok"}},
			{ID: "low_voltage", Type: sdk.EventAlert, Params: map[string]any{"voltage": 2.5}, Time: time.Now().Add(-time.Minute)},
		}, 0},
		{"unknown event", []sdk.Event{
			{ID: "status_report", Type: sdk.EventInfo, Params: map[string]any{"status": 1, "message": "ok"}},
			{ID: "nope", Type: sdk.EventInfo},
		}, sdk.CodeUnknown},
		{"empty", nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.PostEvents(ctx, tt.events)
			var re *sdk.ReplyError
			switch {
			case tt.wantCode == 0:
				if err != nil || r.Method != "events_reply" {
					t.Fatalf("PostEvents = %+v, %v", r, err)
				}
			case tt.wantCode < 0:
				if err == nil || errors.As(err, &re) {
					t.Fatalf("PostEvents = %v, want a local error", err)
				}
			default:
				if !errors.As(err, &re) || re.Code != tt.wantCode {
					t.Fatalf("PostEvents = %v, want code %d", err, tt.wantCode)
				}
			}
		})
	}
	// The accepted batch is in the event history.
	waitFor(t, 10*time.Second, func() error {
		var hist struct{ EventHistory []struct{ EventId string } }
		now := time.Now()
		err := n.api.Call(ctx, "ListEventHistory", map[string]any{"ProductId": pid, "DeviceName": d.DeviceName,
			"StartTime": now.Add(-time.Hour).Unix(), "EndTime": now.Add(time.Minute).Unix(), "Size": 10}, &hist)
		if err != nil {
			return err
		}
		if len(hist.EventHistory) != 2 {
			return fmt.Errorf("%d events recorded, want 2", len(hist.EventHistory))
		}
		return nil
	})
}
