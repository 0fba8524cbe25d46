package e2e

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/thingo-iot/thingo/protocol"
)

// TestKeyDeviceOverEveryTransport connects one key device over TCP and
// WebSocket (and WSS), subscribes its downlink topic and receives a message
// published through the management API.
func TestKeyDeviceOverEveryTransport(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	for _, listener := range []string{"tcp", "ws", "wss"} {
		t.Run(listener, func(t *testing.T) {
			d := s.newDevice(pid, "dev-"+listener)
			c := mustConnect(t, s.keyOpts(d, listener))
			got := make(chan string, 1)
			topic := "$thing/down/property/" + pid + "/" + d.Name
			if tok := c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("subscribe: %v", tok.Error())
			}
			s.mustCall("PublishMessage", map[string]any{
				"ProductId": pid, "DeviceName": d.Name, "Topic": topic,
				"Payload": `{"method":"control","clientToken":"t1","params":{"power_switch":1}}`, "Qos": 1,
			}, nil)
			select {
			case p := <-got:
				if !strings.Contains(p, `"clientToken":"t1"`) {
					t.Fatalf("payload %q", p)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no message")
			}
			var desc struct {
				Device struct{ Status, LogLevel int64 }
			}
			waitFor(t, 5*time.Second, func() error {
				s.mustCall("DescribeDevice", map[string]any{"ProductId": pid, "DeviceName": d.Name}, &desc)
				if desc.Device.Status != 1 {
					return fmt.Errorf("status %d, want 1 (online)", desc.Device.Status)
				}
				return nil
			})
			if desc.Device.LogLevel != 1 {
				t.Errorf("LogLevel of a new device = %d, want 1", desc.Device.LogLevel)
			}
		})
	}
}

// TestConnectRefusals covers the CONNACK codes of PROTOCOL.md §1.4.
func TestConnectRefusals(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	d := s.newDevice(pid, "dev1")
	other := s.newDevice(pid, "dev2")

	sign := func(username, method, psk string) string {
		p, err := protocol.SignPassword(psk, username, method)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := fmt.Sprintf("%s%s;12010126;abcde;%d", pid, d.Name, time.Now().Add(time.Hour).Unix())
	expired := fmt.Sprintf("%s%s;12010126;abcde;%d", pid, d.Name, time.Now().Add(-time.Hour).Unix())
	pythonStyle := fmt.Sprintf("%s%s;21010406;dhk63;%d", pid, d.Name, time.Now().UnixMilli())
	wrongKey := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))

	cases := []struct {
		name, clientID, username, password string
		want                               byte
	}{
		{"good sha256", pid + d.Name, good, sign(good, "hmacsha256", d.PSK), 0},
		{"good sha1", pid + d.Name, good, sign(good, "hmacsha1", d.PSK), 0},
		{"python millisecond field", pid + d.Name, pythonStyle, sign(pythonStyle, "hmacsha1", d.PSK), 0},
		{"bad signature", pid + d.Name, good, sign(good, "hmacsha256", wrongKey), 0x04},
		{"expired username", pid + d.Name, expired, sign(expired, "hmacsha256", d.PSK), 0x04},
		{"unknown method", pid + d.Name, good, strings.Split(sign(good, "hmacsha256", d.PSK), ";")[0] + ";md5", 0x04},
		{"client id of another device", pid + other.Name, good, sign(good, "hmacsha256", d.PSK), 0x02},
		{"unknown device", pid + "ghost", strings.Replace(good, d.Name, "ghost", 1), sign(strings.Replace(good, d.Name, "ghost", 1), "hmacsha256", d.PSK), 0x04},
		{"garbage username", pid + d.Name, "nonsense", "x;hmacsha256", 0x04},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := s.baseOpts("tcp").SetClientID(tc.clientID).SetUsername(tc.username).SetPassword(tc.password)
			c, err := connect(t, o)
			if tc.want == 0 {
				if err != nil {
					t.Fatalf("connect: %v", err)
				}
				c.Disconnect(50)
				return
			}
			if err == nil {
				t.Fatalf("connected, want CONNACK 0x%02x", tc.want)
			}
			if got := connackCode(err); got != tc.want {
				t.Fatalf("CONNACK 0x%02x (%v), want 0x%02x", got, err, tc.want)
			}
		})
	}
}

// TestDisabledDevice: disabling a device disconnects it and refuses its
// next CONNECT with 0x05; enabling lets it back in.
func TestDisabledDevice(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	d := s.newDevice(pid, "dev1")
	lost := make(chan struct{})
	o := s.keyOpts(d, "tcp").SetConnectionLostHandler(func(mqtt.Client, error) { close(lost) })
	mustConnect(t, o)

	item := []map[string]any{{"ProductId": pid, "DeviceName": d.Name}}
	s.mustCall("UpdateDevicesEnableState", map[string]any{"DevicesItems": item, "Status": 0}, nil)
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("connected device was not disconnected when disabled")
	}
	if _, err := connect(t, s.keyOpts(d, "tcp")); connackCode(err) != 0x05 {
		t.Fatalf("disabled device: %v, want CONNACK 0x05", err)
	}
	s.mustCall("UpdateDevicesEnableState", map[string]any{"DevicesItems": item, "Status": 1}, nil)
	mustConnect(t, s.keyOpts(d, "tcp"))
}

// TestACL: a device may not subscribe to or publish on another device's
// topics; SUBACK carries 0x80 and the denied publish reaches no one.
func TestACL(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	a := s.newDevice(pid, "alice")
	b := s.newDevice(pid, "bob")
	ca := mustConnect(t, s.keyOpts(a, "tcp"))
	cb := mustConnect(t, s.keyOpts(b, "tcp"))

	cases := []struct {
		filter string
		want   byte
	}{
		{"$thing/down/property/" + pid + "/alice", 1},
		{"$thing/down/+/" + pid + "/alice", 1},
		{"$thing/down/property/" + pid + "/bob", 0x80},
		{"#", 0x80},
		{"$thing/up/property/" + pid + "/alice", 0x80}, // publish-only topic
	}
	for _, tc := range cases {
		tok := ca.Subscribe(tc.filter, 1, func(mqtt.Client, mqtt.Message) {})
		if !tok.WaitTimeout(10 * time.Second) {
			t.Fatalf("subscribe %s timed out", tc.filter)
		}
		got := tok.(*mqtt.SubscribeToken).Result()[tc.filter]
		if got != tc.want {
			t.Errorf("SUBACK for %q = 0x%02x, want 0x%02x", tc.filter, got, tc.want)
		}
	}

	// bob subscribes to his own data topic; alice publishes there: denied,
	// so bob receives nothing, while bob's own publish arrives.
	got := make(chan string, 4)
	dataTopic := pid + "/bob/data"
	if tok := cb.Subscribe(dataTopic, 0, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal("bob subscribe failed")
	}
	ca.Publish(dataTopic, 1, false, "from alice").WaitTimeout(10 * time.Second)
	cb.Publish(dataTopic, 0, false, "from bob").WaitTimeout(10 * time.Second)
	select {
	case p := <-got:
		if p != "from bob" {
			t.Fatalf("bob received %q: a denied publish was delivered", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("bob's own message did not arrive")
	}
	if !ca.IsConnectionOpen() {
		t.Fatal("one denied QoS1 publish closed the connection")
	}
}

// TestQoS2PublishClosesConnection and a QoS2 SUBSCRIBE is granted QoS1.
func TestQoS2(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	d := s.newDevice(pid, "dev1")
	lost := make(chan struct{})
	c := mustConnect(t, s.keyOpts(d, "tcp").SetConnectionLostHandler(func(mqtt.Client, error) { close(lost) }))
	filter := "$thing/down/property/" + pid + "/dev1"
	tok := c.Subscribe(filter, 2, func(mqtt.Client, mqtt.Message) {})
	tok.WaitTimeout(10 * time.Second)
	if got := tok.(*mqtt.SubscribeToken).Result()[filter]; got != 1 {
		t.Fatalf("QoS2 SUBSCRIBE granted 0x%02x, want 1", got)
	}
	c.Publish("$thing/up/property/"+pid+"/dev1", 2, false, `{"method":"report"}`)
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("QoS2 PUBLISH did not close the connection")
	}
}

// TestTakeover: a second connection of the same device closes the first.
func TestTakeover(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	d := s.newDevice(pid, "dev1")
	lost := make(chan struct{})
	var once sync.Once
	mustConnect(t, s.keyOpts(d, "tcp").SetConnectionLostHandler(func(mqtt.Client, error) { once.Do(func() { close(lost) }) }))
	second := mustConnect(t, s.keyOpts(d, "ws"))
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("first connection not closed by the second")
	}
	if !second.IsConnectionOpen() {
		t.Fatal("second connection closed")
	}
	var desc struct{ Device struct{ Status int64 } }
	time.Sleep(200 * time.Millisecond) // let presence settle, then check it stays online
	s.mustCall("DescribeDevice", map[string]any{"ProductId": pid, "DeviceName": d.Name}, &desc)
	if desc.Device.Status != 1 {
		t.Fatalf("status after takeover = %d, want 1", desc.Device.Status)
	}
}

// TestCertificateDevice: a device of a certificate product connects over
// mutual TLS with the certificate CreateDevice issued, and no password.
func TestCertificateDevice(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("1")
	d := s.newDevice(pid, "camera1")
	if d.CertPEM == "" || d.KeyPEM == "" {
		t.Fatalf("CreateDevice on a certificate product returned no DeviceCert/DevicePrivateKey")
	}
	cert, err := tls.X509KeyPair([]byte(d.CertPEM), []byte(d.KeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	user := fmt.Sprintf("%s%s;12010126;abcde;%d", pid, d.Name, protocol.NeverExpires)
	for _, listener := range []string{"tls", "wss"} {
		t.Run(listener, func(t *testing.T) {
			o := s.baseOpts(listener).SetClientID(pid + d.Name).SetUsername(user).SetTLSConfig(s.tlsConfig(&cert))
			c := mustConnect(t, o)
			tok := c.Subscribe("$thing/down/property/"+pid+"/"+d.Name, 1, func(mqtt.Client, mqtt.Message) {})
			tok.WaitTimeout(10 * time.Second)
			if tok.Error() != nil {
				t.Fatal(tok.Error())
			}
		})
	}
	t.Run("no client certificate", func(t *testing.T) {
		o := s.baseOpts("tls").SetClientID(pid + d.Name).SetUsername(user)
		if _, err := connect(t, o); err == nil {
			t.Fatal("certificate device connected without its certificate")
		}
	})
	t.Run("key device over TLS with password", func(t *testing.T) {
		kp := s.newProduct("2")
		kd := s.newDevice(kp, "keydev")
		mustConnect(t, s.keyOpts(kd, "tls"))
	})
}

// TestDeleteOnlineDevice: deleting a connected device sends it unbind_device
// on $thing/down/service, then closes its connection; it cannot come back.
func TestDeleteOnlineDevice(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	d := s.newDevice(pid, "dev1")
	lost := make(chan struct{})
	c := mustConnect(t, s.keyOpts(d, "tcp").SetConnectionLostHandler(func(mqtt.Client, error) { close(lost) }))
	got := make(chan string, 1)
	if tok := c.Subscribe("$thing/down/service/"+pid+"/dev1", 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal("subscribe failed")
	}
	s.mustCall("DeleteDevice", map[string]any{"ProductId": pid, "DeviceName": "dev1"}, nil)
	select {
	case p := <-got:
		if !strings.Contains(p, `"method":"unbind_device"`) || !strings.Contains(p, `"DeviceId":"`+pid+`/dev1"`) {
			t.Fatalf("notification %s", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no unbind_device")
	}
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("deleted device still connected")
	}
	if _, err := connect(t, s.keyOpts(d, "tcp")); connackCode(err) != 0x04 {
		t.Fatalf("deleted device reconnect: %v, want CONNACK 0x04", err)
	}
}
