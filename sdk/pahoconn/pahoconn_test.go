package pahoconn

import (
	"net"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	server "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

func TestUseSchemes(t *testing.T) {
	tests := []struct {
		brokers []string
		want    bool
	}{
		{[]string{"tcp://127.0.0.1:1883"}, true},
		{[]string{"mqtt://127.0.0.1:1883", "tcp://127.0.0.2:1883"}, true},
		{[]string{"ssl://127.0.0.1:8883"}, false},
		{[]string{"tcp://127.0.0.1:1883", "ws://127.0.0.1:80/mqtt"}, false},
		{nil, false},
	}
	for _, tc := range tests {
		o := mqtt.NewClientOptions()
		for _, b := range tc.brokers {
			o.AddBroker(b)
		}
		Use(o, nil)
		if got := o.CustomOpenConnectionFn != nil; got != tc.want {
			t.Errorf("Use with brokers %q: buffered = %v, want %v", tc.brokers, got, tc.want)
		}
	}
}

// TestRoundTrip runs a paho client through a buffered connection against
// a broker: several messages published back to back arrive in order.
func TestRoundTrip(t *testing.T) {
	srv := server.New(&server.Options{InlineClient: true})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "t", Address: addr})); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	got := make(chan string, 100)
	o := Use(mqtt.NewClientOptions().AddBroker("tcp://"+addr).SetClientID("c1").SetOrderMatters(true), &net.Dialer{Timeout: 5 * time.Second})
	if o.CustomOpenConnectionFn == nil {
		t.Fatal("Use did not install the buffered connection")
	}
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	if tok := c.Subscribe("t/#", 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	const n = 50
	for i := range n {
		if err := srv.Publish("t/x", []byte{byte('a' + i%26)}, false, 1); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		select {
		case m := <-got:
			if want := string(rune('a' + i%26)); m != want {
				t.Fatalf("message %d = %q, want %q", i, m, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d did not arrive", i)
		}
	}
}
