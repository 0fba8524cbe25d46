package e2e

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// collector gathers the payloads a client receives, in order.
type collector struct {
	mu   sync.Mutex
	msgs []string
}

func (c *collector) handle(_ mqtt.Client, m mqtt.Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, string(m.Payload()))
	c.mu.Unlock()
}

func (c *collector) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.msgs...)
}

// persistentOpts: CleanSession=0 and a message handler for everything the
// session delivers (also what arrives before the client subscribes again).
func persistentOpts(s *server, d device, col *collector) *mqtt.ClientOptions {
	return s.keyOpts(d, "tcp").SetCleanSession(false).SetDefaultPublishHandler(col.handle)
}

func publishQoS1(t *testing.T, s *server, d device, topic, payload string) error {
	t.Helper()
	return s.call("PublishMessage", map[string]any{
		"ProductId": d.ProductID, "DeviceName": d.Name, "Topic": topic, "Payload": payload, "Qos": 1,
	}, nil)
}

// TestOfflineMessagesDeliveredAfterReconnect: a QoS1 message sent while a
// CleanSession=0 device is offline is delivered when it reconnects, with
// SessionPresent set.
func TestOfflineMessagesDeliveredAfterReconnect(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	d := s.newDevice(pid, "dev1")
	topic := "$thing/down/property/" + pid + "/dev1"
	checkOfflineDelivery(t, s, s, d, topic)
}

// checkOfflineDelivery connects d with a persistent session to holder,
// subscribes to topic and disconnects; a QoS 1 message published through
// via's API while d is offline must arrive when d reconnects to holder,
// with SessionPresent set.
func checkOfflineDelivery(t *testing.T, via, holder *server, d device, topic string) {
	t.Helper()
	col := &collector{}
	c := mustConnect(t, persistentOpts(holder, d, col))
	if tok := c.Subscribe(topic, 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal("subscribe failed")
	}
	c.Disconnect(100)
	waitOffline(t, via, d)

	if err := publishQoS1(t, via, d, topic, "while-offline"); err != nil {
		t.Fatalf("PublishMessage to an offline persistent session: %v", err)
	}
	c2 := mqtt.NewClient(persistentOpts(holder, d, col))
	tok := c2.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("reconnect: %v", tok.Error())
	}
	defer c2.Disconnect(50)
	if !tok.(*mqtt.ConnectToken).SessionPresent() {
		t.Error("SessionPresent = false after reconnecting into a persistent session")
	}
	waitFor(t, 10*time.Second, func() error {
		if got := col.snapshot(); len(got) != 1 || got[0] != "while-offline" {
			return fmt.Errorf("received %q", got)
		}
		return nil
	})
}

// TestOfflineQueueKeeps150: of 151 messages queued for an offline device,
// the oldest is dropped and the other 150 arrive in order.
func TestOfflineQueueKeeps150(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	d := s.newDevice(pid, "dev1")
	topic := "$thing/down/property/" + pid + "/dev1"

	col := &collector{}
	c := mustConnect(t, persistentOpts(s, d, col))
	if tok := c.Subscribe(topic, 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal("subscribe failed")
	}
	c.Disconnect(100)
	waitOffline(t, s, d)
	for i := 1; i <= 151; i++ {
		if err := publishQoS1(t, s, d, topic, strconv.Itoa(i)); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	c2 := mustConnect(t, persistentOpts(s, d, col))
	_ = c2
	waitFor(t, 30*time.Second, func() error {
		if n := len(col.snapshot()); n < 150 {
			return fmt.Errorf("received %d of 150", n)
		}
		return nil
	})
	got := col.snapshot()
	if len(got) != 150 {
		t.Fatalf("received %d messages, want 150", len(got))
	}
	for i, p := range got {
		if want := strconv.Itoa(i + 2); p != want {
			t.Fatalf("message %d = %q, want %q (oldest dropped, order kept)", i, p, want)
		}
	}
}

// TestOfflineWithoutSessionIsReported: a message for a device that is offline
// with no persistent session is reported undelivered, never silently lost.
func TestOfflineWithoutSessionIsReported(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	d := s.newDevice(pid, "dev1")
	err := publishQoS1(t, s, d, "$thing/down/property/"+pid+"/dev1", "x")
	if got := apiCode(err); got != "FailedOperation.DeviceOffline" {
		t.Fatalf("PublishMessage to a never-connected device: %v, want FailedOperation.DeviceOffline", err)
	}
}

// TestSessionSurvivesRestart: a persistent session and its queued messages
// survive a graceful restart of the server.
func TestSessionSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	pid := s.newProduct("2")
	d := s.newDevice(pid, "dev1")
	topic := "$thing/down/property/" + pid + "/dev1"
	col := &collector{}
	c := mustConnect(t, persistentOpts(s, d, col))
	if tok := c.Subscribe(topic, 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal("subscribe failed")
	}
	c.Disconnect(100)
	waitOffline(t, s, d)
	if err := publishQoS1(t, s, d, topic, "before-restart"); err != nil {
		t.Fatal(err)
	}
	s.stop()

	s2 := startServer(t, dir)
	if err := publishQoS1(t, s2, d, topic, "after-restart"); err != nil {
		t.Fatalf("PublishMessage after restart (session should be known): %v", err)
	}
	c2 := mqtt.NewClient(persistentOpts(s2, d, col))
	tok := c2.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("reconnect: %v", tok.Error())
	}
	defer c2.Disconnect(50)
	if !tok.(*mqtt.ConnectToken).SessionPresent() {
		t.Error("SessionPresent = false after a restart")
	}
	waitFor(t, 10*time.Second, func() error {
		got := col.snapshot()
		if len(got) != 2 || got[0] != "before-restart" || got[1] != "after-restart" {
			return fmt.Errorf("received %q", got)
		}
		return nil
	})
}

func waitOffline(t *testing.T, s *server, d device) {
	t.Helper()
	waitFor(t, 10*time.Second, func() error {
		var desc struct{ Device struct{ Status int64 } }
		if err := s.call("DescribeDevice", map[string]any{"ProductId": d.ProductID, "DeviceName": d.Name}, &desc); err != nil {
			return err
		}
		if desc.Device.Status != 0 {
			return fmt.Errorf("status %d, want 0", desc.Device.Status)
		}
		return nil
	})
}
