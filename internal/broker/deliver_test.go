package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"
)

// memQueue is an in-memory OfflineQueue with the production limit: at most
// 150 messages per client, oldest dropped.
type memQueue struct {
	mu   sync.Mutex
	seq  uint64
	msgs map[string][]queued
}

type queued struct {
	seq     uint64
	topic   string
	payload []byte
	qos     byte
}

const memQueueMax = 150

var _ OfflineQueue = (*memQueue)(nil)

func (q *memQueue) Enqueue(_ context.Context, clientID, topic string, payload []byte, qos byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.msgs == nil {
		q.msgs = make(map[string][]queued)
	}
	q.seq++
	l := append(q.msgs[clientID], queued{q.seq, topic, append([]byte(nil), payload...), qos})
	if len(l) > memQueueMax {
		l = l[len(l)-memQueueMax:]
	}
	q.msgs[clientID] = l
	return nil
}

func (q *memQueue) Next(_ context.Context, clientID string, after uint64) (uint64, string, []byte, byte, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range q.msgs[clientID] {
		if m.seq > after {
			return m.seq, m.topic, m.payload, m.qos, true, nil
		}
	}
	return 0, "", nil, 0, false, nil
}

func (q *memQueue) DeleteThrough(_ context.Context, clientID string, seq uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.msgs[clientID]
	i := 0
	for i < len(l) && l[i].seq <= seq {
		i++
	}
	q.msgs[clientID] = l[i:]
	return nil
}

func (q *memQueue) Purge(_ context.Context, clientID string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.msgs, clientID)
	return nil
}

func (q *memQueue) Len(_ context.Context, clientID string) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs[clientID]), nil
}

func downTopic(dn string) string { return "$thing/down/property/" + testPID + "/" + dn }

// collector gathers the payloads a paho client receives.
type collector struct {
	mu  sync.Mutex
	got []string
}

func (c *collector) handle(_ paho.Client, m paho.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, string(m.Payload()))
}

func (c *collector) payloads() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}

func (c *collector) waitN(t *testing.T, n int) []string {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		if got := len(c.payloads()); got < n {
			return fmt.Errorf("received %d of %d", got, n)
		}
		return nil
	})
	return c.payloads()
}

func TestDeliverOnline(t *testing.T) {
	tb := startBroker(t, Options{}, Deps{Queue: &memQueue{}})
	ctx := context.Background()
	col := &collector{}
	c := mustDial(t, clientOpts{url: tb.url(ListenerTCP), dn: "on", clean: true})
	wait(t, c.Subscribe(downTopic("on"), 1, col.handle))

	tests := []struct {
		name    string
		dn      string
		topic   string
		qos     byte
		want    Delivery
		wantErr error
	}{
		{"qos1", "on", downTopic("on"), 1, Delivered, nil},
		{"qos0", "on", downTopic("on"), 0, Delivered, nil},
		{"not subscribed", "on", "$ota/update/" + testPID + "/on", 1, 0, ErrNotSubscribed},
		{"unknown device", "nobody", downTopic("nobody"), 1, 0, ErrDeviceOffline},
		{"qos2", "on", downTopic("on"), 2, 0, ErrInvalidQoS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tb.Deliver(ctx, testPID, tt.dn, tt.topic, []byte(tt.name), tt.qos)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("Deliver = %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if got := col.waitN(t, 2); strings.Join(got, ",") != "qos1,qos0" {
		t.Fatalf("received %v", got)
	}
}

// TestDeliverWildcardSubscription: a device subscribed through a wildcard
// filter (allowed by its ACL) is subscribed to the topic it matches.
func TestDeliverWildcardSubscription(t *testing.T) {
	tb := startBroker(t, Options{}, Deps{Queue: &memQueue{}})
	col := &collector{}
	c := mustDial(t, clientOpts{url: tb.url(ListenerTCP), dn: "wild", clean: true})
	wait(t, c.Subscribe("$thing/down/+/"+testPID+"/wild", 1, col.handle))
	got, err := tb.Deliver(context.Background(), testPID, "wild", downTopic("wild"), []byte("w"), 1)
	if err != nil || got != Delivered {
		t.Fatalf("Deliver = %v, %v; want delivered", got, err)
	}
	col.waitN(t, 1)
}

// persistentDevice connects with CleanSession=0, subscribes and disconnects.
func persistentDevice(t *testing.T, tb *testBroker, dn string) {
	t.Helper()
	c := mustDial(t, clientOpts{url: tb.url(ListenerTCP), dn: dn})
	wait(t, c.Subscribe(downTopic(dn), 1, nil))
	c.Disconnect(0)
	checkFor(t, 5*time.Second, func() error {
		cl, ok := tb.srv.Clients.Get(testPID + dn)
		if !ok || !cl.Closed() {
			return errors.New("still connected")
		}
		return nil
	})
}

func TestDeliverOffline(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		sent int
		want int // messages received after reconnecting
	}{
		{"in order", 5, 5},
		{"151 queued, oldest dropped", 151, 150},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &memQueue{}
			tb := startBroker(t, Options{OfflinePacing: time.Millisecond}, Deps{Queue: q})
			persistentDevice(t, tb, "off")
			if _, err := tb.Deliver(ctx, testPID, "off", downTopic("off"), []byte("x"), 0); !errors.Is(err, ErrDeviceOffline) {
				t.Fatalf("qos0 to offline device: %v", err)
			}
			if _, err := tb.Deliver(ctx, testPID, "off", "$ota/update/"+testPID+"/off", []byte("x"), 1); !errors.Is(err, ErrDeviceOffline) {
				t.Fatalf("offline, no matching subscription: %v", err)
			}
			for i := range tt.sent {
				got, err := tb.Deliver(ctx, testPID, "off", downTopic("off"), []byte(fmt.Sprint(i)), 1)
				if err != nil || got != Queued {
					t.Fatalf("Deliver #%d = %v, %v", i, got, err)
				}
			}
			col := &collector{}
			_, code, present, err := dial(t, clientOpts{url: tb.url(ListenerTCP), dn: "off", password: testPassword, onMsg: col.handle})
			if err != nil || code != 0 || !present {
				t.Fatalf("reconnect: code %d, present %v, %v", code, present, err)
			}
			got := col.waitN(t, tt.want)
			for i, p := range got {
				if want := fmt.Sprint(tt.sent - tt.want + i); p != want {
					t.Fatalf("message %d = %s, want %s (all %v)", i, p, want, got)
				}
			}
			checkFor(t, 5*time.Second, func() error {
				if n, _ := q.Len(ctx, testPID+"off"); n != 0 {
					return fmt.Errorf("%d still queued", n)
				}
				return nil
			})
		})
	}
}

func TestCleanSessionPurgesQueue(t *testing.T) {
	ctx := context.Background()
	q := &memQueue{}
	tb := startBroker(t, Options{OfflinePacing: time.Millisecond}, Deps{Queue: q})
	persistentDevice(t, tb, "purge")
	for i := range 3 {
		if _, err := tb.Deliver(ctx, testPID, "purge", downTopic("purge"), []byte(fmt.Sprint(i)), 1); err != nil {
			t.Fatal(err)
		}
	}
	_, code, present, err := dial(t, clientOpts{url: tb.url(ListenerTCP), dn: "purge", password: testPassword, clean: true})
	if err != nil || code != 0 || present {
		t.Fatalf("clean connect: code %d, present %v, %v", code, present, err)
	}
	if n, _ := q.Len(ctx, testPID+"purge"); n != 0 {
		t.Fatalf("%d messages left after CleanSession=1", n)
	}
}

// TestDeliverDropped fills a device's outbound buffer (the device stops
// reading) until mochi drops a downlink: QoS0 is reported undelivered, QoS1
// for a persistent session is queued.
func TestDeliverDropped(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		clean bool
		qos   byte
		want  Delivery
		err   error
	}{
		{"qos0 undelivered", true, 0, 0, ErrUndelivered},
		{"qos1 queued", false, 1, Queued, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &memQueue{}
			tb := startBroker(t, Options{WritesPending: 1, MaxInflight: 65535}, Deps{Queue: q})
			dn := fmt.Sprintf("slow%d", i)
			stalledSubscriber(t, tb.Addr(ListenerTCP), dn, tt.clean)
			payload := make([]byte, 16*1024)
			for n := 0; ; n++ {
				if n == 5000 {
					t.Fatal("no downlink dropped after 5000 messages")
				}
				got, err := tb.Deliver(ctx, testPID, dn, downTopic(dn), payload, tt.qos)
				if err == nil && got == Delivered {
					continue
				}
				if got != tt.want || !errors.Is(err, tt.err) {
					t.Fatalf("Deliver = %v, %v; want %v, %v", got, err, tt.want, tt.err)
				}
				break
			}
			if atomic.LoadInt64(&tb.srv.Info.MessagesDropped) == 0 {
				t.Fatal("mochi dropped nothing: the OnPublishDropped path was not taken")
			}
			if tt.want == Queued {
				if n, _ := q.Len(ctx, testPID+dn); n != 1 {
					t.Fatalf("queue holds %d", n)
				}
			}
		})
	}
}

// stalledSubscriber connects, subscribes to its down topic and never reads.
func stalledSubscriber(t *testing.T, addr net.Addr, dn string, clean bool) *rawClient {
	t.Helper()
	rc := rawDial(t, addr)
	if tc, ok := rc.c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	rc.send(t, connectPacket(dn, 4, clean))
	if ack, err := rc.read(4); err != nil || ack.ReasonCode != 0 {
		t.Fatalf("CONNACK %v, %v", ack.ReasonCode, err)
	}
	rc.send(t, packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1},
		PacketID:    1,
		Filters:     packets.Subscriptions{{Filter: downTopic(dn), Qos: 1}},
	})
	if ack, err := rc.read(4); err != nil || ack.FixedHeader.Type != packets.Suback || ack.ReasonCodes[0] != 1 {
		t.Fatalf("SUBACK %+v, %v", ack, err)
	}
	return rc
}

func TestDisconnect(t *testing.T) {
	tb := startBroker(t, Options{}, Deps{})
	ctx := context.Background()
	if err := tb.Disconnect(ctx, testPID, "ghost"); !errors.Is(err, ErrDeviceOffline) {
		t.Fatalf("Disconnect offline device: %v", err)
	}
	lost := make(chan struct{})
	mustDial(t, clientOpts{url: tb.url(ListenerTCP), dn: "kick", clean: true, lost: func(error) { close(lost) }})
	if err := tb.Disconnect(ctx, testPID, "kick"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("device still connected")
	}
	checkFor(t, 5*time.Second, func() error {
		if evs := tb.rec.find("disconnected", errDisconnected.Error()); len(evs) != 1 {
			return fmt.Errorf("events %+v", tb.rec.all())
		}
		return nil
	})
}

// flakyQueue fails every other Next, Delete and Len call, the way JetStream
// times out under a reconnect storm.
type flakyQueue struct {
	*memQueue
	mu    sync.Mutex
	calls int
}

var errFlaky = errors.New("context deadline exceeded (flaky queue)")

func (q *flakyQueue) fail() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls++
	return q.calls%2 == 1
}

func (q *flakyQueue) Next(ctx context.Context, clientID string, after uint64) (uint64, string, []byte, byte, bool, error) {
	if q.fail() {
		return 0, "", nil, 0, false, errFlaky
	}
	return q.memQueue.Next(ctx, clientID, after)
}

func (q *flakyQueue) DeleteThrough(ctx context.Context, clientID string, seq uint64) error {
	if q.fail() {
		return errFlaky
	}
	return q.memQueue.DeleteThrough(ctx, clientID, seq)
}

func (q *flakyQueue) Len(ctx context.Context, clientID string) (int, error) {
	if q.fail() {
		return 0, errFlaky
	}
	return q.memQueue.Len(ctx, clientID)
}

// TestDeliverOfflineQueueErrors: queue errors while draining are retried;
// every message arrives once, in order, and the queue ends empty.
func TestDeliverOfflineQueueErrors(t *testing.T) {
	ctx := context.Background()
	q := &flakyQueue{memQueue: &memQueue{}}
	tb := startBroker(t, Options{OfflinePacing: time.Millisecond}, Deps{Queue: q})
	persistentDevice(t, tb, "flaky")
	const sent = 8
	for i := range sent {
		if got, err := tb.Deliver(ctx, testPID, "flaky", downTopic("flaky"), []byte(fmt.Sprint(i)), 1); err != nil || got != Queued {
			t.Fatalf("Deliver #%d = %v, %v", i, got, err)
		}
	}
	col := &collector{}
	if _, code, _, err := dial(t, clientOpts{url: tb.url(ListenerTCP), dn: "flaky", password: testPassword, onMsg: col.handle}); err != nil || code != 0 {
		t.Fatalf("reconnect: code %d, %v", code, err)
	}
	got := col.waitN(t, sent)
	for i, p := range got {
		if p != fmt.Sprint(i) {
			t.Fatalf("message %d = %s, want %d (all %v)", i, p, i, got)
		}
	}
	checkFor(t, 10*time.Second, func() error {
		if n, _ := q.memQueue.Len(ctx, testPID+"flaky"); n != 0 {
			return fmt.Errorf("%d still queued", n)
		}
		return nil
	})
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.got) != sent {
		t.Fatalf("received %d messages, want %d: %v", len(col.got), sent, col.got)
	}
}

func TestDrainBackoff(t *testing.T) {
	tests := []struct {
		pacing time.Duration
		n      int
		want   time.Duration
	}{
		{500 * time.Millisecond, 1, 500 * time.Millisecond},
		{500 * time.Millisecond, 2, time.Second},
		{500 * time.Millisecond, 4, 4 * time.Second},
		{500 * time.Millisecond, 9, maxDrainBackoff},
		{time.Millisecond, 1, 10 * time.Millisecond},
		{time.Millisecond, 100, maxDrainBackoff},
	}
	for _, tt := range tests {
		if got := drainBackoff(tt.pacing, tt.n); got != tt.want {
			t.Errorf("drainBackoff(%v, %d) = %v, want %v", tt.pacing, tt.n, got, tt.want)
		}
	}
}
