package broker

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/packets"
)

func TestConnectCodes(t *testing.T) {
	tb := startBroker(t, Options{}, Deps{})
	url := tb.url(ListenerTCP)
	tests := []struct {
		name     string
		dn       string
		password string
		level    uint
		want     byte
	}{
		{"accepted", "dev1", testPassword, 4, 0x00},
		{"mqtt 3.1 accepted", "dev2", testPassword, 3, 0x00},
		{"bad password", "dev1", "wrong", 4, 0x04},
		{"disabled", "disabled1", testPassword, 4, 0x05},
		{"internal failure", "broken1", testPassword, 4, 0x03},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, code, _, _ := dial(t, clientOpts{url: url, dn: tt.dn, password: tt.password, clean: true, level: tt.level})
			defer c.Disconnect(0)
			if code != tt.want {
				t.Fatalf("CONNACK code = 0x%02x, want 0x%02x", code, tt.want)
			}
		})
	}

	t.Run("bad client id", func(t *testing.T) {
		rc := rawDial(t, tb.Addr(ListenerTCP))
		pk := connectPacket("dev1", 4, true)
		pk.Connect.ClientIdentifier = "nope"
		rc.send(t, pk)
		ack, err := rc.read(4)
		if err != nil || ack.ReasonCode != 0x02 {
			t.Fatalf("CONNACK %v, %v; want code 0x02", ack.ReasonCode, err)
		}
	})
	t.Run("mqtt 5 refused with 0x01", func(t *testing.T) {
		rc := rawDial(t, tb.Addr(ListenerTCP))
		rc.send(t, connectPacket("dev1", 5, true))
		ack, err := rc.read(4)
		if err != nil || ack.FixedHeader.Type != packets.Connack || ack.ReasonCode != 0x01 {
			t.Fatalf("got %+v, %v; want CONNACK 0x01", ack.FixedHeader, err)
		}
		if _, err := rc.read(4); err == nil {
			t.Fatal("connection still open after refusal")
		}
	})
}

// allowEverything says yes to every OR-combined decision mochi asks hooks.
type allowEverything struct{ mqtt.HookBase }

func (h *allowEverything) ID() string { return "allow-everything" }
func (h *allowEverything) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}
func (h *allowEverything) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }
func (h *allowEverything) OnACLCheck(*mqtt.Client, string, bool) bool              { return true }

// TestDenyIsFinal proves that a hook that allows everything, registered on
// the same mochi server, cannot undo any denial.
func TestDenyIsFinal(t *testing.T) {
	for _, hook := range []mqtt.Hook{new(auth.AllowHook), new(allowEverything)} {
		t.Run(hook.ID(), func(t *testing.T) {
			b, err := New(Options{TCPAddr: "127.0.0.1:0"}, Deps{Authenticator: &fakeAuth{}})
			if err != nil {
				t.Fatal(err)
			}
			if err := b.srv.AddHook(hook, nil); err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			b.deps.Observer, b.deps.Handler = rec, rec
			tb := &testBroker{Broker: b, rec: rec}
			t.Cleanup(tb.runInBackground(t))
			url := tb.url(ListenerTCP)

			_, code, _, _ := dial(t, clientOpts{url: url, dn: "dev1", password: "wrong", clean: true})
			if code != 0x04 {
				t.Fatalf("bad password: CONNACK 0x%02x, want 0x04", code)
			}

			c := mustDial(t, clientOpts{url: url, dn: "dev1", clean: true})
			own := testPID + "/dev1/data"
			for _, filter := range []string{testPID + "/other/data", "#", "$thing/down/property/" + testPID + "/other"} {
				tok := c.Subscribe(filter, 1, nil)
				tok.WaitTimeout(5 * time.Second)
				if got := tok.(*paho.SubscribeToken).Result()[filter]; got != 0x80 {
					t.Errorf("SUBACK for %q = 0x%02x, want 0x80", filter, got)
				}
			}
			wait(t, c.Subscribe(own, 1, nil))

			// Denied publishes, QoS1 still acknowledged, never handled.
			wait(t, c.Publish(testPID+"/dev1/control", 1, false, "denied"))
			wait(t, c.Publish(testPID+"/other/event", 0, false, "denied"))
			wait(t, c.Publish(testPID+"/dev1/event", 1, false, "allowed"))
			checkFor(t, 5*time.Second, func() error {
				if n := len(rec.ups()); n != 1 {
					return fmt.Errorf("%d uplinks", n)
				}
				return nil
			})
			if ups := rec.ups(); ups[0].reason != "allowed" {
				t.Fatalf("handled %+v", ups)
			}
			checkFor(t, 5*time.Second, func() error {
				if n := len(rec.find("dropped", DropACL)); n != 2 {
					return fmt.Errorf("%d acl drops", n)
				}
				return nil
			})
		})
	}
}

func TestQoS2(t *testing.T) {
	tb := startBroker(t, Options{}, Deps{})
	url := tb.url(ListenerTCP)

	t.Run("subscribe granted qos 1", func(t *testing.T) {
		c := mustDial(t, clientOpts{url: url, dn: "sub2", clean: true})
		filter := "$thing/down/property/" + testPID + "/sub2"
		tok := c.Subscribe(filter, 2, nil)
		wait(t, tok)
		if got := tok.(*paho.SubscribeToken).Result()[filter]; got != 1 {
			t.Fatalf("granted %d, want 1", got)
		}
	})
	t.Run("publish closes the connection", func(t *testing.T) {
		var lost atomic.Bool
		c := mustDial(t, clientOpts{url: url, dn: "pub2", clean: true, lost: func(error) { lost.Store(true) }})
		c.Publish(testPID+"/pub2/event", 2, false, "x")
		checkFor(t, 5*time.Second, func() error {
			if !lost.Load() {
				return errors.New("still connected")
			}
			return nil
		})
		if len(tb.rec.find("dropped", DropQoS2)) != 1 {
			t.Fatalf("qos2 drop not recorded: %+v", tb.rec.find("dropped", ""))
		}
		if n := len(tb.rec.ups()); n != 0 {
			t.Fatalf("%d uplinks handled", n)
		}
	})
}

func TestPayloadTooLarge(t *testing.T) {
	tb := startBroker(t, Options{MaxPayload: 1024}, Deps{})
	tests := []struct {
		name string
		size int
	}{
		{"above MaxPayload", 2000},
		{"above the packet limit", 200_000},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lost atomic.Bool
			dn := fmt.Sprintf("big%d", i)
			c := mustDial(t, clientOpts{url: tb.url(ListenerTCP), dn: dn, clean: true, lost: func(error) { lost.Store(true) }})
			c.Publish(testPID+"/"+dn+"/event", 0, false, strings.Repeat("x", tt.size))
			checkFor(t, 5*time.Second, func() error {
				if !lost.Load() {
					return errors.New("still connected")
				}
				return nil
			})
		})
	}
	checkFor(t, 5*time.Second, func() error {
		if n := len(tb.rec.find("dropped", DropSize)); n != 2 {
			return fmt.Errorf("%d size drops", n)
		}
		return nil
	})
	if n := len(tb.rec.ups()); n != 0 {
		t.Fatalf("%d uplinks handled", n)
	}
}

func TestRateLimit(t *testing.T) {
	tb := startBroker(t, Options{UplinkRate: 5}, Deps{})
	c := mustDial(t, clientOpts{url: tb.url(ListenerTCP), dn: "fast", clean: true})
	const sent = 40
	for i := range sent {
		wait(t, c.Publish(testPID+"/fast/event", 1, false, fmt.Sprint(i)))
	}
	checkFor(t, 5*time.Second, func() error {
		handled, dropped := len(tb.rec.ups()), len(tb.rec.find("dropped", DropRate))
		if handled+dropped != sent {
			return fmt.Errorf("handled %d + dropped %d != %d", handled, dropped, sent)
		}
		return nil
	})
	if len(tb.rec.find("dropped", DropRate)) == 0 {
		t.Fatal("no publish was rate limited")
	}
}

func TestTakeover(t *testing.T) {
	tb := startBroker(t, Options{}, Deps{})
	var lost atomic.Bool
	mustDial(t, clientOpts{url: tb.url(ListenerTCP), dn: "twin", clean: true, lost: func(error) { lost.Store(true) }})
	second := mustDial(t, clientOpts{url: tb.url(ListenerTCP), dn: "twin", clean: true})
	checkFor(t, 5*time.Second, func() error {
		if !lost.Load() {
			return errors.New("first connection still open")
		}
		return nil
	})
	if !second.IsConnectionOpen() {
		t.Fatal("second connection closed")
	}
	checkFor(t, 5*time.Second, func() error {
		var kinds []string
		for _, e := range tb.rec.all() {
			kinds = append(kinds, e.kind+":"+e.reason)
		}
		want := "connected:,disconnected:session taken over,connected:"
		if got := strings.Join(kinds, ","); got != want {
			return fmt.Errorf("events %s, want %s", got, want)
		}
		return nil
	})
}

func TestKeepAliveCapped(t *testing.T) {
	tb := startBroker(t, Options{MaxKeepAlive: 100 * time.Second}, Deps{})
	mustDial(t, clientOpts{url: tb.url(ListenerTCP), dn: "sleepy", clean: true, keep: 3000 * time.Second})
	checkFor(t, 5*time.Second, func() error {
		evs := tb.rec.find("connected", "")
		if len(evs) != 1 {
			return errors.New("not connected")
		}
		if evs[0].conn.KeepAlive != 100*time.Second {
			return fmt.Errorf("keepalive %v", evs[0].conn.KeepAlive)
		}
		return nil
	})
	cl, _ := tb.srv.Clients.Get(testPID + "sleepy")
	if cl.State.Keepalive != 100 {
		t.Fatalf("mochi keepalive %d", cl.State.Keepalive)
	}
}

func TestWillNeverPublished(t *testing.T) {
	tb := startBroker(t, Options{}, Deps{})
	spy := &willSpy{}
	if err := tb.srv.AddHook(spy, nil); err != nil {
		t.Fatal(err)
	}
	rc := rawDial(t, tb.Addr(ListenerTCP))
	pk := connectPacket("willy", 4, true)
	pk.Connect.WillFlag = true
	pk.Connect.WillTopic = testPID + "/willy/data"
	pk.Connect.WillPayload = []byte("gone")
	pk.Connect.WillQos = 2
	pk.Connect.WillRetain = true
	rc.send(t, pk)
	if ack, err := rc.read(4); err != nil || ack.ReasonCode != 0 {
		t.Fatalf("CONNACK %v, %v", ack.ReasonCode, err)
	}
	rc.c.Close() // abrupt: a Will would be sent now
	checkFor(t, 5*time.Second, func() error {
		if len(tb.rec.find("disconnected", "")) != 1 {
			return errors.New("not disconnected")
		}
		return nil
	})
	if spy.sent.Load() != 0 {
		t.Fatal("a Will was published")
	}
	if evs := tb.rec.find("dropped", DropWill); len(evs) != 1 || evs[0].topic != pk.Connect.WillTopic {
		t.Fatalf("will not recorded: %+v", evs)
	}
}

type willSpy struct {
	mqtt.HookBase
	sent atomic.Int32
}

func (h *willSpy) ID() string           { return "will-spy" }
func (h *willSpy) Provides(b byte) bool { return b == mqtt.OnWillSent }
func (h *willSpy) OnWillSent(*mqtt.Client, packets.Packet) {
	h.sent.Add(1)
}

func TestRetainIgnored(t *testing.T) {
	tb := startBroker(t, Options{}, Deps{})
	topic := testPID + "/ret/data"
	got := make(chan paho.Message, 4)
	c := mustDial(t, clientOpts{url: tb.url(ListenerTCP), dn: "ret", clean: true})
	wait(t, c.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) { got <- m }))
	wait(t, c.Publish(topic, 1, true, "kept?"))
	select {
	case m := <-got:
		if m.Retained() || string(m.Payload()) != "kept?" {
			t.Fatalf("got retained=%v %q", m.Retained(), m.Payload())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("retained publish not delivered")
	}
	wait(t, c.Unsubscribe(topic))
	wait(t, c.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) { got <- m }))
	if _, ok := tb.srv.Topics.Retained.GetAll()[topic]; ok {
		t.Fatal("message retained")
	}
	wait(t, c.Publish(topic, 1, false, "marker"))
	select {
	case m := <-got:
		if string(m.Payload()) != "marker" {
			t.Fatalf("retained message replayed: %q", m.Payload())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("marker not delivered")
	}
}

func TestSysTopicUplink(t *testing.T) {
	tb := startBroker(t, Options{}, Deps{})
	c := mustDial(t, clientOpts{url: tb.url(ListenerTCP), dn: "sys", clean: true})
	wait(t, c.Publish("$sys/operation/"+testPID+"/sys", 1, false, `{"type":"get","resource":["time"]}`))
	wait(t, c.Publish("$sys/operation/"+testPID+"/other", 1, false, "denied"))
	checkFor(t, 5*time.Second, func() error {
		ups := tb.rec.ups()
		if len(ups) != 1 || ups[0].topic != "$sys/operation/"+testPID+"/sys" {
			return fmt.Errorf("uplinks %+v", ups)
		}
		if len(tb.rec.find("dropped", DropACL)) != 1 {
			return errors.New("denied $sys publish not recorded")
		}
		return nil
	})
}
