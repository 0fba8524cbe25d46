package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/protocol"
	"github.com/thingo-iot/thingo/sdk"
)

func (n *node) httpBase() string { return "http://" + n.app.HTTPAddr().String() }

// setDynreg enables dynamic registration (2: auto-create) and returns the
// product secret.
func (n *node) setDynreg(pid string) string {
	n.t.Helper()
	var rep struct{ ProductSecret string }
	n.call("ModifyProductDynamicRegister", map[string]any{"ProductId": pid, "RegisterType": 2, "RegisterLimit": 10}, &rep)
	if len(rep.ProductSecret) < 16 {
		n.t.Fatalf("product secret %q", rep.ProductSecret)
	}
	return rep.ProductSecret
}

func TestRegisterE2E(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keyPID, certPID := n.newProduct("2"), n.newProduct("1")
	keySecret, certSecret := n.setDynreg(keyPID), n.setDynreg(certPID)

	tests := []struct {
		name, pid, secret, broker string
	}{
		{"key", keyPID, keySecret, n.url("tcp")},
		{"cert", certPID, certSecret, n.url("tls")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := sdk.Register(ctx, sdk.RegisterConfig{
				BaseURL: n.httpBase(), ProductID: tt.pid, ProductSecret: tt.secret, DeviceName: "reg1",
			})
			if err != nil {
				t.Fatalf("Register: %v", err)
			}
			path := filepath.Join(t.TempDir(), "device_info.json")
			if _, err := reg.Save(path); err != nil {
				t.Fatal(err)
			}
			info, err := sdk.LoadDeviceInfo(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.ProductSecret != tt.secret || info.DeviceName != "reg1" {
				t.Fatalf("saved device info %+v", info)
			}
			cfg := info.Config(tt.broker)
			cfg.RootCAs = n.roots()
			cfg.ServerName = "localhost"
			c, err := sdk.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Connect(ctx); err != nil {
				t.Fatalf("connect with the registered credential: %v", err)
			}
			roundTrip(t, c, tt.pid, "reg1")
		})
	}

	// A wrong product secret is refused with the platform's error code.
	_, err := sdk.Register(ctx, sdk.RegisterConfig{
		BaseURL: n.httpBase(), ProductID: keyPID, ProductSecret: strings.Repeat("x", 24), DeviceName: "reg2",
	})
	var re *sdk.RegisterError
	if !errors.As(err, &re) || !errors.Is(err, sdk.ErrRegisterRefused) || re.Code == "" {
		t.Fatalf("Register with a wrong secret: %v", err)
	}
}

func TestRegisterConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  sdk.RegisterConfig
	}{
		{"bad product", sdk.RegisterConfig{BaseURL: "http://127.0.0.1:1", ProductID: "x", ProductSecret: strings.Repeat("s", 24), DeviceName: "d"}},
		{"bad device", sdk.RegisterConfig{BaseURL: "http://127.0.0.1:1", ProductID: "AB12CD34EF", ProductSecret: strings.Repeat("s", 24), DeviceName: "bad name"}},
		{"bad URL", sdk.RegisterConfig{BaseURL: "ftp://host", ProductID: "AB12CD34EF", ProductSecret: strings.Repeat("s", 24), DeviceName: "d"}},
		{"bad method", sdk.RegisterConfig{BaseURL: "http://127.0.0.1:1", ProductID: "AB12CD34EF", ProductSecret: strings.Repeat("s", 24), DeviceName: "d", SignMethod: "md5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sdk.Register(context.Background(), tt.cfg); !errors.Is(err, sdk.ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestUploadLogsE2E(t *testing.T) {
	n := startNode(t)
	pid := n.newProduct("2")
	d := n.newDevice(pid, "log1")
	c, err := sdk.New(sdk.Config{ProductID: pid, DeviceName: "log1", DeviceSecret: d.DevicePsk, Broker: n.url("tcp")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// 60 lines of ~90 bytes need two uploads of at most 3000 bytes.
	var lines []protocol.LogLine
	for i := range 60 {
		lines = append(lines, protocol.LogLine{Level: "ERR", Time: "2026-11-25 10:00:00", File: "main.c",
			Func: "loop", Line: i, Message: fmt.Sprintf("line %02d %s", i, strings.Repeat("x", 40))})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.UploadLogs(ctx, n.httpBase(), lines); err != nil {
		t.Fatalf("UploadLogs: %v", err)
	}
	var logs struct {
		Total int
		Logs  []struct{ Content, Level string }
	}
	n.call("DescribeDeviceLogs", map[string]any{"ProductId": pid, "DeviceName": "log1", "Limit": 100}, &logs)
	if logs.Total != 60 || len(logs.Logs) != 60 {
		t.Fatalf("DescribeDeviceLogs: total %d, %d logs", logs.Total, len(logs.Logs))
	}
	found := false
	for _, l := range logs.Logs {
		if l.Level == "ERR" && strings.Contains(l.Content, "line 59 ") {
			found = true
		}
	}
	if !found {
		t.Fatalf("line 59 missing: %+v", logs.Logs[:3])
	}

	// Another device's secret is refused.
	other, err := sdk.New(sdk.Config{ProductID: pid, DeviceName: "log1", DeviceSecret: "AAAAAAAAAAAAAAAAAAAAAAAA", Broker: n.url("tcp")})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.UploadLogs(ctx, n.httpBase(), lines[:1]); !errors.Is(err, sdk.ErrLogRejected) {
		t.Fatalf("UploadLogs with a wrong key: %v", err)
	}
}
