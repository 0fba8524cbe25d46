package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/thingo-iot/thingo/internal/devauth"
)

// fakeNet is an in-memory cluster: brokers by node id, the presence and
// session-node records, and every Locate and Call made.
type fakeNet struct {
	mu      sync.Mutex
	nodes   map[string]*Broker
	online  map[string]string // client id -> node holding its connection
	homes   map[string]string // client id -> node keeping its session
	locates atomic.Int64
	calls   atomic.Int64
}

func newFakeNet() *fakeNet {
	return &fakeNet{nodes: make(map[string]*Broker), online: make(map[string]string), homes: make(map[string]string)}
}

// fakeCluster is one node's view of a fakeNet.
type fakeCluster struct {
	net  *fakeNet
	self string
}

func (c fakeCluster) Self() string { return c.self }

func (c fakeCluster) Locate(_ context.Context, pid, dn string) (string, string, error) {
	c.net.locates.Add(1)
	c.net.mu.Lock()
	defer c.net.mu.Unlock()
	return c.net.online[pid+dn], c.net.homes[pid+dn], nil
}

func (c fakeCluster) Call(ctx context.Context, node string, rc RemoteCall) (RemoteResult, error) {
	c.net.calls.Add(1)
	c.net.mu.Lock()
	b := c.net.nodes[node]
	c.net.mu.Unlock()
	if b == nil {
		return RemoteResult{Error: KindOffline}, nil
	}
	return b.ServeRemote(ctx, rc), nil
}

func (c fakeCluster) KeepSession(_ context.Context, clientID string, keep bool) error {
	c.net.mu.Lock()
	defer c.net.mu.Unlock()
	if keep {
		c.net.homes[clientID] = c.self
	} else if c.net.homes[clientID] == c.self {
		delete(c.net.homes, clientID)
	}
	return nil
}

// netObserver records presence in the fakeNet like the app's presence:
// a node deletes only its own record.
type netObserver struct {
	*recorder
	net  *fakeNet
	self string
}

func (o netObserver) Connected(id devauth.Identity, c Connection) {
	o.net.mu.Lock()
	o.net.online[id.ClientID] = o.self
	o.net.mu.Unlock()
	o.recorder.Connected(id, c)
}

func (o netObserver) Disconnected(id devauth.Identity, at time.Time, reason string) {
	o.net.mu.Lock()
	if o.net.online[id.ClientID] == o.self {
		delete(o.net.online, id.ClientID)
	}
	o.net.mu.Unlock()
	o.recorder.Disconnected(id, at, reason)
}

// startNode starts a broker that is node self of net.
func startNode(t *testing.T, net *fakeNet, self string, q OfflineQueue) *testBroker {
	t.Helper()
	rec := &recorder{}
	tb := startBroker(t, Options{OfflinePacing: time.Millisecond}, Deps{
		Queue: q, Cluster: fakeCluster{net: net, self: self}, Observer: netObserver{rec, net, self}, Handler: rec,
	})
	tb.rec = rec
	net.mu.Lock()
	net.nodes[self] = tb.Broker
	net.mu.Unlock()
	return tb
}

func TestRemoteResultErrors(t *testing.T) {
	other := errors.New("disk on fire")
	tests := []struct {
		err  error
		d    Delivery
		want error
	}{
		{nil, Delivered, nil},
		{nil, Queued, nil},
		{ErrDeviceOffline, 0, ErrDeviceOffline},
		{fmt.Errorf("wrapped: %w", ErrNotSubscribed), 0, ErrNotSubscribed},
		{ErrUndelivered, 0, ErrUndelivered},
		{ErrInvalidQoS, 0, ErrInvalidQoS},
		{ErrNotRunning, 0, ErrNotRunning},
	}
	for _, tt := range tests {
		r := resultOf(tt.d, tt.err)
		if r.Delivery != tt.d || !errors.Is(r.Err(), tt.want) || (tt.want == nil) != (r.Err() == nil) {
			t.Errorf("resultOf(%v, %v) = %+v, Err %v; want %v", tt.d, tt.err, r, r.Err(), tt.want)
		}
	}
	r := resultOf(0, other)
	if r.Error != KindInternal || r.Err() == nil || errors.Is(r.Err(), ErrDeviceOffline) {
		t.Errorf("internal error = %+v, Err %v", r, r.Err())
	}
}

// TestClusterDeliverRemote: a device connected to node B is reached by
// Deliver and Disconnect on node A; local deliveries ask nobody.
func TestClusterDeliverRemote(t *testing.T) {
	net := newFakeNet()
	a := startNode(t, net, "a", nil)
	b := startNode(t, net, "b", nil)
	topic := "$thing/down/property/" + testPID + "/far"
	got := make(chan string, 4)
	var lost atomic.Bool
	c := mustDial(t, clientOpts{url: b.url(ListenerTCP), dn: "far", clean: true, lost: func(error) { lost.Store(true) }})
	wait(t, c.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }))

	before := net.locates.Load()
	if d, err := b.Deliver(context.Background(), testPID, "far", topic, []byte("local"), 1); err != nil || d != Delivered {
		t.Fatalf("local Deliver = %v, %v", d, err)
	}
	if n := net.locates.Load(); n != before {
		t.Errorf("a local delivery looked the device up %d times", n-before)
	}

	tests := []struct {
		name  string
		dn    string
		topic string
		want  error
	}{
		{"subscribed", "far", topic, nil},
		{"not subscribed", "far", testPID + "/far/data", ErrNotSubscribed},
		{"unknown device", "nobody", topic, ErrDeviceOffline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := a.Deliver(context.Background(), testPID, tt.dn, tt.topic, []byte("remote"), 1)
			if !errors.Is(err, tt.want) || (tt.want == nil && d != Delivered) {
				t.Fatalf("Deliver = %v, %v; want %v", d, err, tt.want)
			}
		})
	}
	for _, want := range []string{"local", "remote"} {
		select {
		case p := <-got:
			if p != want {
				t.Errorf("received %q, want %q", p, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no message %q", want)
		}
	}

	if err := a.Disconnect(context.Background(), testPID, "far"); err != nil {
		t.Fatalf("Disconnect through A: %v", err)
	}
	checkFor(t, 10*time.Second, func() error {
		if !lost.Load() {
			return errors.New("connection on B still open")
		}
		return nil
	})
	if err := a.Disconnect(context.Background(), testPID, "far"); !errors.Is(err, ErrDeviceOffline) {
		t.Errorf("Disconnect of a disconnected device = %v, want ErrDeviceOffline", err)
	}
}

// TestClusterTakeover: a device connected to node A connects to node B; A
// closes its connection and forgets the session before B reports the new
// connection, so the presence record names B.
func TestClusterTakeover(t *testing.T) {
	net := newFakeNet()
	q := &memQueue{}
	a := startNode(t, net, "a", q)
	b := startNode(t, net, "b", q)
	var lost atomic.Bool
	mustDial(t, clientOpts{url: a.url(ListenerTCP), dn: "mover", lost: func(error) { lost.Store(true) }})
	cid := testPID + "mover"

	mustDial(t, clientOpts{url: b.url(ListenerTCP), dn: "mover"})
	checkFor(t, 10*time.Second, func() error {
		if !lost.Load() {
			return errors.New("connection on A still open")
		}
		return nil
	})
	if ev := a.rec.find("disconnected", errTakenOverRemote.Error()); len(ev) != 1 {
		t.Errorf("A reported %v, want one disconnect %q", a.rec.all(), errTakenOverRemote)
	}
	net.mu.Lock()
	online, home := net.online[cid], net.homes[cid]
	net.mu.Unlock()
	if online != "b" || home != "b" {
		t.Errorf("online on %q, session on %q; want b, b", online, home)
	}
	if _, ok := a.srv.Clients.Get(cid); ok {
		t.Error("A still keeps the session")
	}
}

// TestClusterOfflineSession: a message for a device offline everywhere is
// queued by the node that keeps its persistent session.
func TestClusterOfflineSession(t *testing.T) {
	net := newFakeNet()
	q := &memQueue{}
	a := startNode(t, net, "a", q)
	b := startNode(t, net, "b", q)
	topic := "$thing/down/property/" + testPID + "/sleeper"
	c := mustDial(t, clientOpts{url: b.url(ListenerTCP), dn: "sleeper"})
	wait(t, c.Subscribe(topic, 1, nil))
	c.Disconnect(50)
	checkFor(t, 10*time.Second, func() error {
		if len(b.rec.find("disconnected", "")) == 0 {
			return errors.New("not disconnected yet")
		}
		return nil
	})
	if d, err := a.Deliver(context.Background(), testPID, "sleeper", topic, []byte("later"), 1); err != nil || d != Queued {
		t.Fatalf("Deliver through A = %v, %v; want Queued", d, err)
	}
	if d, err := a.Deliver(context.Background(), testPID, "sleeper", topic, []byte("qos0"), 0); !errors.Is(err, ErrDeviceOffline) {
		t.Fatalf("QoS0 Deliver through A = %v, %v; want ErrDeviceOffline", d, err)
	}
	got := make(chan string, 1)
	c2, _, present, err := dial(t, clientOpts{
		url: b.url(ListenerTCP), dn: "sleeper", password: testPassword,
		onMsg: func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) },
	})
	t.Cleanup(func() { c2.Disconnect(0) })
	if err != nil || !present {
		t.Fatalf("reconnect: present %v, %v", present, err)
	}
	select {
	case p := <-got:
		if p != "later" {
			t.Errorf("received %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("queued message not delivered")
	}
}

// FuzzServeRemote decodes arbitrary requests from other nodes and serves
// them on a running node of a cluster: no request may crash it, and every
// answer maps back to an error or a Delivery.
func FuzzServeRemote(f *testing.F) {
	net := newFakeNet()
	tb := startBroker(f, Options{}, Deps{Queue: &memQueue{}, Cluster: fakeCluster{net: net, self: "a"}})
	for _, s := range []string{
		`{"op":"deliver","pid":"ABCDEF1234","dn":"d","topic":"t/1","payload":"eA==","qos":1}`,
		`{"op":"deliver","pid":"ABCDEF1234","dn":"d","topic":"t/1","qos":7}`,
		`{"op":"disconnect","pid":"ABCDEF1234","dn":"d","last":true,"topic":"x"}`,
		`{"op":"takeover","pid":"ABCDEF1234","dn":"d","clientId":"ABCDEF1234d"}`,
		`{"op":"nope"}`,
		`{"op":"deliver","topic":"#"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c RemoteCall
		if json.Unmarshal(data, &c) != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r := tb.ServeRemote(ctx, c)
		if r.Error == "" && c.Op == OpDeliver && r.Delivery != Delivered && r.Delivery != Queued {
			t.Fatalf("success without a Delivery: %+v", r)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("answer does not encode: %v", err)
		}
	})
}
