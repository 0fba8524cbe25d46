package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/thingo-iot/thingo/internal/apiclient"
	"github.com/thingo-iot/thingo/internal/app"
	"github.com/thingo-iot/thingo/internal/config"
	"github.com/thingo-iot/thingo/protocol"
)

// childEnv names the data directory of a node run by a re-executed test
// binary (see TestMain); such a child serves until it is killed.
const childEnv = "THINGO_E2E_CHILD_DATA"

// childInfo is what a child node writes to child.json once it serves.
type childInfo struct {
	HTTP, MQTT          string
	SecretID, SecretKey string
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(runChild(dir))
	}
	os.Exit(m.Run())
}

func runChild(dir string) int {
	args := []string{"--data", dir, "--mqtt-addr", "127.0.0.1:0", "--mqtts-addr", "off", "--ws-addr", "off", "--wss-addr", "off",
		"--http-addr", "127.0.0.1:0"}
	cfg, err := config.Load(args, func(string) string { return "" })
	if err != nil {
		fmt.Fprintln(os.Stderr, "child config:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx := context.Background()
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child app:", err)
		return 2
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-a.Ready():
	case err := <-done:
		fmt.Fprintln(os.Stderr, "child stopped:", err)
		return 2
	}
	cred := a.AdminCredential()
	b, _ := json.Marshal(childInfo{HTTP: a.HTTPAddr().String(), MQTT: a.MQTTAddr("tcp").String(),
		SecretID: cred.SecretID, SecretKey: cred.SecretKey})
	tmp := filepath.Join(dir, "child.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil || os.Rename(tmp, filepath.Join(dir, "child.json")) != nil {
		fmt.Fprintln(os.Stderr, "child info:", err)
		return 2
	}
	<-done
	return 0
}

// child is a node running in a child process.
type child struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// kill sends SIGKILL and waits for the process to end.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// startChild runs a node in a child process on dir and waits until it serves.
func startChild(t *testing.T, dir string) (*child, childInfo) {
	t.Helper()
	_ = os.Remove(filepath.Join(dir, "child.json"))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.exited) }()
	t.Cleanup(c.kill)
	var info childInfo
	waitFor(t, 60*time.Second, func() error {
		select {
		case <-c.exited:
			t.Fatal("child node exited during startup")
		default:
		}
		b, err := os.ReadFile(filepath.Join(dir, "child.json"))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &info)
	})
	return c, info
}

func TestThingAcknowledgedReportsSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	dir := t.TempDir()
	node, info := startChild(t, dir)
	api := &apiclient.Client{URL: "http://" + info.HTTP, SecretID: info.SecretID, SecretKey: info.SecretKey}
	s := &server{t: t, api: api}
	d, err := func() (device, error) {
		pid := s.newProduct("2")
		schema, err := os.ReadFile(filepath.Join("testdata", "c_sdk_example_config.json"))
		if err != nil {
			return device{}, err
		}
		s.mustCall("ModifyModelDefinition", map[string]any{"ProductId": pid, "ModelSchema": string(schema)}, nil)
		return s.newDevice(pid, "crash1"), nil
	}()
	if err != nil {
		t.Fatal(err)
	}
	clientID, user, pass, err := protocol.DeviceCredentials(d.ProductID, d.Name, d.PSK, "hmacsha256", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	o := mqtt.NewClientOptions().AddBroker("tcp://" + info.MQTT).SetClientID(clientID).SetUsername(user).
		SetPassword(pass).SetAutoReconnect(false).SetConnectTimeout(10 * time.Second).SetProtocolVersion(4)
	c := mustConnect(t, o)
	box := &inbox{}
	if tok := c.Subscribe("$thing/down/property/"+d.ProductID+"/"+d.Name, 0, box.handle); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	const reports = 20
	for i := range reports {
		tok := fmt.Sprintf("k-%d", i)
		c.Publish("$thing/up/property/"+d.ProductID+"/"+d.Name, 0, false,
			fmt.Sprintf(`{"method":"report","clientToken":%q,"params":{"brightness":%d}}`, tok, i))
		r := box.await(t, "$thing/down/property/"+d.ProductID+"/"+d.Name, func(m map[string]any) bool { return m["clientToken"] == tok })
		if r["code"] != 0.0 {
			t.Fatalf("report %d: %v", i, r)
		}
	}
	// Every report was acknowledged: kill -9 now, restart, and find them.
	node.kill()
	_, info = startChild(t, dir)
	s.api = &apiclient.Client{URL: "http://" + info.HTTP, SecretID: info.SecretID, SecretKey: info.SecretKey}
	var data struct{ Data string }
	s.mustCall("DescribeDeviceData", map[string]any{"ProductId": d.ProductID, "DeviceName": d.Name}, &data)
	if want := fmt.Sprintf(`"brightness":{"Value":%d,`, reports-1); !strings.Contains(data.Data, want) {
		t.Errorf("after kill -9: Data = %s, want %s", data.Data, want)
	}
	var hist struct {
		Results []struct{ Time, Value string }
	}
	s.mustCall("DescribeDeviceDataHistory", map[string]any{
		"ProductId": d.ProductID, "DeviceName": d.Name, "FieldName": "brightness", "Limit": 100,
		"MinTime": time.Now().Add(-time.Hour).UnixMilli(), "MaxTime": time.Now().Add(time.Hour).UnixMilli(),
	}, &hist)
	if len(hist.Results) != reports {
		t.Errorf("after kill -9: %d history points, want %d", len(hist.Results), reports)
	}
}
