package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/jackc/pgx/v5"
	natsserver "github.com/nats-io/nats-server/v2/server"
)

// startCluster starts an external NATS server with JetStream (in-process,
// on 127.0.0.1) and two nodes sharing it, one PostgreSQL schema and one
// secret key. It skips without THINGO_TEST_POSTGRES_URL: two nodes cannot
// share a SQLite file.
func startCluster(t *testing.T) (a, b *server) {
	t.Helper()
	dbURL := clusterSchemaURL(t)
	ns, err := natsserver.NewServer(&natsserver.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	key := filepath.Join(t.TempDir(), "secret.key")
	flags := []string{"--nats-url", ns.ClientURL(), "--database-url", dbURL, "--secret-key-file", key}
	a = startServer(t, t.TempDir(), flags...)
	b = startServer(t, t.TempDir(), flags...)
	return a, b
}

// clusterSchemaURL creates a PostgreSQL schema dropped at the end of the
// test and returns THINGO_TEST_POSTGRES_URL with search_path set to it.
func clusterSchemaURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("THINGO_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("THINGO_TEST_POSTGRES_URL not set: a cluster test needs a shared PostgreSQL (nodes cannot share SQLite)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to THINGO_TEST_POSTGRES_URL: %v", err)
	}
	defer admin.Close(ctx)
	buf := make([]byte, 8)
	_, _ = rand.Read(buf)
	schema := "thingo_e2e_" + hex.EncodeToString(buf)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	// Registered first, so it runs after the nodes stopped.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("THINGO_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// waitStatus polls DescribeDevice on s until the device's status is want.
func waitStatus(t *testing.T, s *server, d device, want int64) {
	t.Helper()
	waitFor(t, 10*time.Second, func() error {
		var desc struct{ Device struct{ Status int64 } }
		if err := s.call("DescribeDevice", map[string]any{"ProductId": d.ProductID, "DeviceName": d.Name}, &desc); err != nil {
			return err
		}
		if desc.Device.Status != want {
			return fmt.Errorf("status %d, want %d", desc.Device.Status, want)
		}
		return nil
	})
}

// TestClusterDownlinkToOtherNode: the device is connected to node B; the
// management API of node A reaches it, and its replies (handled on B) are
// recorded where A reads them.
func TestClusterDownlinkToOtherNode(t *testing.T) {
	a, b := startCluster(t)
	pid := a.newProduct("2")
	a.defineExampleModel(pid)
	d := a.newDevice(pid, "far1")
	box := &inbox{}
	c := mustConnect(t, b.keyOpts(d, "tcp"))
	for _, f := range []string{"$thing/down/+/" + pid + "/" + d.Name} {
		if tok := c.Subscribe(f, 1, box.handle); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe %s: %v", f, tok.Error())
		}
	}
	waitStatus(t, a, d, 1)
	with := func(kv ...any) map[string]any {
		m := map[string]any{"ProductId": d.ProductID, "DeviceName": d.Name}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	down := "$thing/down/property/" + pid + "/" + d.Name

	t.Run("PublishMessage", func(t *testing.T) {
		a.mustCall("PublishMessage", with("Topic", down, "Payload", `{"method":"control","clientToken":"pm-1","params":{}}`, "Qos", 1), nil)
		box.await(t, down, func(m map[string]any) bool { return m["clientToken"] == "pm-1" })
		// Not subscribed on B: the error comes back through A.
		err := a.call("PublishMessage", with("Topic", pid+"/"+d.Name+"/data", "Payload", "x", "Qos", 1), nil)
		if err == nil {
			t.Error("PublishMessage to a topic the device did not subscribe: no error")
		}
	})

	t.Run("ControlDeviceData", func(t *testing.T) {
		var ctl struct{ Result string }
		a.mustCall("ControlDeviceData", with("Data", `{"brightness":33}`), &ctl)
		if !strings.Contains(ctl.Result, `"Sent":1`) {
			t.Errorf("Result = %s, want Sent 1", ctl.Result)
		}
		got := box.await(t, down, func(m map[string]any) bool { return m["method"] == "control" })
		token, _ := got["clientToken"].(string)
		up := "$thing/up/property/" + pid + "/" + d.Name
		for _, p := range []string{
			fmt.Sprintf(`{"method":"control_reply","clientToken":%q,"code":0,"status":"ok"}`, token),
			`{"method":"report","clientToken":"r-1","params":{"brightness":33}}`,
		} {
			if tok := c.Publish(up, 1, false, p); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("publish: %v", tok.Error())
			}
		}
		waitFor(t, 10*time.Second, func() error {
			var data struct{ Data string }
			if err := a.call("DescribeDeviceData", with(), &data); err != nil {
				return err
			}
			if !strings.Contains(data.Data, `"brightness":{"Value":33`) {
				return fmt.Errorf("Data = %s", data.Data)
			}
			return nil
		})
	})

	t.Run("AsyncActionReplyRecorded", func(t *testing.T) {
		var async struct{ ClientToken string }
		a.mustCall("CallDeviceActionAsync", with("ActionId", "light_blink", "InputParams", `{"time":3,"color":1,"total_time":10}`), &async)
		box.await(t, "$thing/down/action/"+pid+"/"+d.Name, func(m map[string]any) bool { return m["clientToken"] == async.ClientToken })
		reply := `{"method":"action_reply","clientToken":"` + async.ClientToken + `","code":0,"status":"done","response":{"err_code":0}}`
		if tok := c.Publish("$thing/up/action/"+pid+"/"+d.Name, 1, false, reply); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
		waitFor(t, 10*time.Second, func() error {
			var r struct {
				Replied bool
				Status  string
			}
			if err := a.call("DescribeDeviceCallResult", with("ClientToken", async.ClientToken), &r); err != nil {
				return err
			}
			if !r.Replied || r.Status != "done" {
				return errors.New("not replied yet")
			}
			return nil
		})
	})
}

// TestClusterTakeover: a device connected to node A connects again to node
// B; the A connection is closed and the device stays online, on B.
func TestClusterTakeover(t *testing.T) {
	a, b := startCluster(t)
	pid := a.newProduct("2")
	d := a.newDevice(pid, "mover")
	var lost atomic.Bool
	mustConnect(t, a.keyOpts(d, "tcp").SetConnectionLostHandler(func(mqtt.Client, error) { lost.Store(true) }))
	waitStatus(t, b, d, 1)

	col := &collector{}
	c2 := mustConnect(t, b.keyOpts(d, "tcp"))
	topic := "$thing/down/property/" + pid + "/" + d.Name
	if tok := c2.Subscribe(topic, 1, col.handle); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	waitFor(t, 10*time.Second, func() error {
		if !lost.Load() {
			return errors.New("the connection to node A is still open")
		}
		return nil
	})
	waitStatus(t, a, d, 1)
	// The presence record names B: A's API reaches the device there.
	a.mustCall("PublishMessage", map[string]any{
		"ProductId": pid, "DeviceName": d.Name, "Topic": topic, "Payload": "after-move", "Qos": 1,
	}, nil)
	waitFor(t, 10*time.Second, func() error {
		if got := col.snapshot(); len(got) != 1 || got[0] != "after-move" {
			return fmt.Errorf("received %q", got)
		}
		return nil
	})
	if !c2.IsConnectionOpen() {
		t.Error("the connection to node B was closed")
	}
	// Disabling the device through A closes its connection on B.
	a.mustCall("UpdateDevicesEnableState", map[string]any{
		"DevicesItems": []map[string]any{{"ProductId": pid, "DeviceName": d.Name}}, "Status": 0,
	}, nil)
	waitFor(t, 10*time.Second, func() error {
		if c2.IsConnectionOpen() {
			return errors.New("the connection to node B is still open")
		}
		return nil
	})
	waitStatus(t, a, d, 0)
}

// TestClusterOfflineQueue: a device offline everywhere with a persistent
// session on node B gets, when it reconnects, a QoS1 message sent through
// node A while it was offline.
func TestClusterOfflineQueue(t *testing.T) {
	a, b := startCluster(t)
	pid := a.newProduct("2")
	d := a.newDevice(pid, "sleeper")
	topic := "$thing/down/property/" + pid + "/" + d.Name
	checkOfflineDelivery(t, a, b, d, topic)
}
