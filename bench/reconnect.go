package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/thingo-iot/thingo/internal/apiclient"
	"github.com/thingo-iot/thingo/internal/apikey"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/sim"
	"github.com/thingo-iot/thingo/sdk/pahoconn"
)

// Reconnect storm: devices with persistent sessions (clean session off) and
// a QoS 1 subscription go offline, the server queues perDevice QoS 1
// messages for each of them, then all reconnect at once; the figure is the
// time from the start of the reconnect until every device has received all
// of its messages.

// reconnectResult is the outcome of one reconnect storm.
type reconnectResult struct {
	devices, perDevice int
	connectFailed      int
	firstErr           error
	connect            time.Duration // until every reconnect was answered
	drained            time.Duration // until the last expected message arrived
	complete           bool          // every expected message arrived before the deadline
	lost               int           // expected messages that never arrived
	duplicates         int           // messages received more than once
	outOfOrder         int           // first arrivals after a later message of the device
}

// drainedSeconds is the drain time in seconds, NaN when messages were lost
// (the storm did not drain).
func (r reconnectResult) drainedSeconds() float64 {
	if !r.complete {
		return math.NaN()
	}
	return r.drained.Seconds()
}

func (r reconnectResult) String() string {
	return fmt.Sprintf("%d devices x %d: reconnected in %v (%d failed), drained in %v, lost %d, duplicates %d, out of order %d",
		r.devices, r.perDevice, r.connect.Round(time.Millisecond), r.connectFailed, r.drained.Round(time.Millisecond),
		r.lost, r.duplicates, r.outOfOrder)
}

// seqPayload is the payload of message seq of a device.
func seqPayload(seq int) string { return `{"seq":` + strconv.Itoa(seq) + `}` }

// parseSeq reads the sequence number of a seqPayload.
func parseSeq(p []byte) (int, bool) {
	const pre, suf = `{"seq":`, `}`
	s := string(p)
	if len(s) < len(pre)+len(suf)+1 || s[:len(pre)] != pre || s[len(s)-len(suf):] != suf {
		return 0, false
	}
	digits := s[len(pre) : len(s)-len(suf)]
	if len(digits) > 9 {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}

// inbox is what one device received.
type inbox struct {
	mu      sync.Mutex
	seen    []bool
	got     int // distinct expected messages
	highest int // highest sequence number seen, -1 before the first
	dup     int
	ooo     int
}

// tally counts the messages a fleet receives and notes when the last
// expected one arrived.
type tally struct {
	perDevice int
	boxes     []inbox
	start     time.Time
	pending   atomic.Int64 // devices still missing messages
	lastNanos atomic.Int64 // since start, of the last new arrival
	stray     atomic.Int64 // payloads that are not seqPayloads of this run
	done      chan struct{}
}

func newTally(devices, perDevice int, start time.Time) *tally {
	t := &tally{perDevice: perDevice, boxes: make([]inbox, devices), start: start, done: make(chan struct{})}
	for i := range t.boxes {
		t.boxes[i].seen = make([]bool, perDevice)
		t.boxes[i].highest = -1
	}
	t.pending.Store(int64(devices))
	if devices == 0 {
		close(t.done)
	}
	return t
}

// receive records payload as received by device i.
func (t *tally) receive(i int, payload []byte, at time.Time) {
	seq, ok := parseSeq(payload)
	if !ok || seq >= t.perDevice || i < 0 || i >= len(t.boxes) {
		t.stray.Add(1)
		return
	}
	b := &t.boxes[i]
	b.mu.Lock()
	if b.seen[seq] {
		b.dup++
		b.mu.Unlock()
		return
	}
	b.seen[seq] = true
	b.got++
	if seq < b.highest {
		b.ooo++
	}
	b.highest = max(b.highest, seq)
	full := b.got == t.perDevice
	b.mu.Unlock()
	for el := int64(at.Sub(t.start)); ; {
		cur := t.lastNanos.Load()
		if el <= cur || t.lastNanos.CompareAndSwap(cur, el) {
			break
		}
	}
	if full && t.pending.Add(-1) == 0 {
		close(t.done)
	}
}

// counts returns the lost, duplicated and out-of-order messages so far.
func (t *tally) counts() (lost, dup, ooo int) {
	for i := range t.boxes {
		b := &t.boxes[i]
		b.mu.Lock()
		lost += t.perDevice - b.got
		dup += b.dup
		ooo += b.ooo
		b.mu.Unlock()
	}
	return lost, dup, ooo
}

// persistentClient returns a paho client with a persistent session that
// hands every message to onMsg (also those of subscriptions the session
// kept from an earlier connection).
func persistentClient(addr string, i int, c creds, onMsg mqtt.MessageHandler) mqtt.Client {
	o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(c.clientID).
		SetUsername(c.user).SetPassword(c.pass).SetAutoReconnect(false).SetConnectRetry(false).
		SetKeepAlive(240 * time.Second).SetConnectTimeout(30 * time.Second).SetCleanSession(false).
		SetOrderMatters(true).SetDialer(newDialer(i))
	if onMsg != nil {
		o.SetDefaultPublishHandler(onMsg)
	}
	return mqtt.NewClient(pahoconn.Use(o, nil))
}

// forEach runs fn(i) for i in [0, n) with at most conc in flight and joins
// the errors.
func forEach(ctx context.Context, n, conc int, fn func(ctx context.Context, i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, max(conc, 1))
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = fn(ctx, i)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// primeSessions connects every client with a persistent session, subscribes
// it at QoS 1 to its topic and disconnects it, so that the server keeps the
// session and queues what is published to the topic.
func primeSessions(ctx context.Context, addr string, cs []creds, topics []string, conc int) error {
	return forEach(ctx, len(cs), conc, func(_ context.Context, i int) error {
		cl := persistentClient(addr, i, cs[i], nil)
		if tok := cl.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			return fmt.Errorf("prime %s: connect: %v", cs[i].clientID, tok.Error())
		}
		defer cl.Disconnect(250)
		tok := cl.Subscribe(topics[i], 1, nil)
		if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			return fmt.Errorf("prime %s: subscribe %s: %v", cs[i].clientID, topics[i], tok.Error())
		}
		if st, ok := tok.(*mqtt.SubscribeToken); ok && st.Result()[topics[i]] != 1 {
			return fmt.Errorf("prime %s: subscribe %s: granted %#x, want QoS 1", cs[i].clientID, topics[i], st.Result()[topics[i]])
		}
		return nil
	})
}

// reconnectStorm reconnects every client with its persistent session, at
// most conc connects in flight, and waits until each has received the
// perDevice messages queued for it or until deadline has passed since the
// start of the reconnect. The fleet is disconnected before it returns.
func reconnectStorm(ctx context.Context, addr string, cs []creds, perDevice, conc int, deadline time.Duration) reconnectResult {
	res := reconnectResult{devices: len(cs), perDevice: perDevice}
	start := time.Now()
	t := newTally(len(cs), perDevice, start)
	f := make(fleet, len(cs))
	defer func() { f.disconnect() }()
	var failed atomic.Int64
	var errOnce sync.Once
	_ = forEach(ctx, len(cs), conc, func(_ context.Context, i int) error {
		cl := persistentClient(addr, i, cs[i], func(_ mqtt.Client, m mqtt.Message) { t.receive(i, m.Payload(), time.Now()) })
		tok := cl.Connect()
		if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			failed.Add(1)
			errOnce.Do(func() { res.firstErr = fmt.Errorf("reconnect %s: %v", cs[i].clientID, tok.Error()) })
			return nil
		}
		f[i] = cl
		return nil
	})
	res.connect = time.Since(start)
	res.connectFailed = int(failed.Load())
	timer := time.NewTimer(max(deadline-time.Since(start), 0))
	defer timer.Stop()
	select {
	case <-t.done:
		res.complete = true
	case <-timer.C:
	case <-ctx.Done():
	}
	res.drained = time.Duration(t.lastNanos.Load())
	res.lost, res.duplicates, res.outOfOrder = t.counts()
	return res
}

// downTopic is the topic a device subscribes to and the platform publishes
// the queued messages on.
func downTopic(d sim.Device) string {
	return "$thing/down/property/" + d.ProductID + "/" + d.DeviceName
}

// thingoReconnect runs the reconnect storm against the Thingo node at addr
// (MQTT) and api: it creates a product and n key devices, primes their
// persistent sessions, waits until the platform sees them offline, queues
// perDevice QoS 1 PublishMessage calls per device (in order per device,
// conc devices at a time) and reconnects them all.
func thingoReconnect(ctx context.Context, addr string, api sim.APICaller, n, perDevice, conc int, deadline time.Duration, logf func(string, ...any)) (reconnectResult, error) {
	pid, err := sim.CreateProduct(ctx, api, fmt.Sprintf("reconnect%d", time.Now().UnixNano()%1e6), cSDKModel)
	if err != nil {
		return reconnectResult{}, err
	}
	logf("thingo: reconnect storm: creating %d devices", n)
	devs, err := sim.CreateDevices(ctx, api, pid, "r", n, 32)
	if err != nil {
		return reconnectResult{}, err
	}
	cs, err := thingoCreds(devs)
	if err != nil {
		return reconnectResult{}, err
	}
	topics := make([]string, n)
	for i, d := range devs {
		topics[i] = downTopic(d)
	}
	logf("thingo: reconnect storm: priming %d persistent sessions", n)
	if err := primeSessions(ctx, addr, cs, topics, conc); err != nil {
		return reconnectResult{}, err
	}
	if err := waitOffline(ctx, api, devs, 32); err != nil {
		return reconnectResult{}, err
	}
	logf("thingo: reconnect storm: queueing %d x %d messages with PublishMessage", n, perDevice)
	qStart := time.Now()
	if err := queueThingo(ctx, api, devs, perDevice, 32); err != nil {
		return reconnectResult{}, err
	}
	logf("thingo: reconnect storm: queued in %v; reconnecting", time.Since(qStart).Round(time.Millisecond))
	return reconnectStorm(ctx, addr, cs, perDevice, conc, deadline), nil
}

// waitOffline polls DescribeDevice until no device of devs is online, so
// that the messages queued next go to the offline queue, not to a
// connection that is still closing.
func waitOffline(ctx context.Context, api sim.APICaller, devs []sim.Device, conc int) error {
	return forEach(ctx, len(devs), conc, func(ctx context.Context, i int) error {
		d := devs[i]
		limit := time.Now().Add(30 * time.Second)
		for {
			var resp struct{ Device struct{ Status int64 } }
			if err := api.Call(ctx, "DescribeDevice", map[string]any{"ProductId": d.ProductID, "DeviceName": d.DeviceName}, &resp); err != nil {
				return fmt.Errorf("describe %s: %w", d.DeviceName, err)
			}
			if resp.Device.Status != registry.StatusOnline {
				return nil
			}
			if time.Now().After(limit) {
				return fmt.Errorf("%s still online 30s after its disconnect", d.DeviceName)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
}

// queueThingo sends perDevice QoS 1 PublishMessage calls to every device,
// one after the other per device, conc devices at a time.
func queueThingo(ctx context.Context, api sim.APICaller, devs []sim.Device, perDevice, conc int) error {
	return forEach(ctx, len(devs), conc, func(ctx context.Context, i int) error {
		d := devs[i]
		for seq := range perDevice {
			if err := api.Call(ctx, "PublishMessage", map[string]any{
				"ProductId": d.ProductID, "DeviceName": d.DeviceName, "Topic": downTopic(d),
				"Payload": seqPayload(seq), "Qos": 1,
			}, nil); err != nil {
				return fmt.Errorf("PublishMessage to %s: %w", d.DeviceName, err)
			}
		}
		return nil
	})
}

// mosquittoReconnect runs the reconnect storm against the broker at addr:
// n anonymous clients prime persistent sessions subscribed to their own
// topic, separate publishers send perDevice QoS 1 messages to each topic
// while they are offline, then all reconnect.
func mosquittoReconnect(ctx context.Context, addr string, n, perDevice, conc int, deadline time.Duration, logf func(string, ...any)) (reconnectResult, error) {
	cs := make([]creds, n)
	topics := make([]string, n)
	for i := range cs {
		cs[i] = creds{clientID: fmt.Sprintf("reconnect%06d", i)}
		topics[i] = "bench/reconnect/" + strconv.Itoa(i)
	}
	logf("mosquitto: reconnect storm: priming %d persistent sessions", n)
	if err := primeSessions(ctx, addr, cs, topics, conc); err != nil {
		return reconnectResult{}, err
	}
	logf("mosquitto: reconnect storm: queueing %d x %d messages", n, perDevice)
	if err := queueMosquitto(ctx, addr, topics, perDevice, 4); err != nil {
		return reconnectResult{}, err
	}
	logf("mosquitto: reconnect storm: reconnecting")
	return reconnectStorm(ctx, addr, cs, perDevice, conc, deadline), nil
}

// queueMosquitto publishes perDevice QoS 1 messages to every topic from
// pubs clients (topic i from publisher i%pubs, in order), with a bounded
// window of unacknowledged publishes per publisher.
func queueMosquitto(ctx context.Context, addr string, topics []string, perDevice, pubs int) error {
	const window = 500
	return forEach(ctx, pubs, pubs, func(ctx context.Context, p int) error {
		cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).
			SetClientID(fmt.Sprintf("reconnect-pub%d", p)).SetCleanSession(true).SetAutoReconnect(false))
		if tok := cl.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			return fmt.Errorf("publisher %d: connect: %v", p, tok.Error())
		}
		defer cl.Disconnect(250)
		var toks []mqtt.Token
		flush := func() error {
			for _, tok := range toks {
				if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
					return fmt.Errorf("publisher %d: publish: %v", p, tok.Error())
				}
			}
			toks = toks[:0]
			return ctx.Err()
		}
		for i := p; i < len(topics); i += pubs {
			for seq := range perDevice {
				toks = append(toks, cl.Publish(topics[i], 1, false, seqPayload(seq)))
			}
			if len(toks) >= window {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	})
}

// reconnectRows are the result rows of the reconnect storm: the drain time
// at the server's default pacing, and at --offline-pacing fastPacing when
// fast is not nil, against the same mosquitto run, and the lost messages.
func reconnectRows(th reconnectResult, fast *reconnectResult, fastPacing time.Duration, mq reconnectResult) []row {
	name := fmt.Sprintf("reconnect storm, %d devices x %d queued", th.devices, th.perDevice)
	rows := []row{{Name: name + ": drained", Unit: "s", Thingo: th.drainedSeconds(), Mosquitto: mq.drainedSeconds()}}
	lost := th.lost
	if fast != nil {
		rows = append(rows, row{Name: fmt.Sprintf("reconnect storm, --offline-pacing %v: drained", fastPacing), Unit: "s",
			Thingo: fast.drainedSeconds(), Mosquitto: mq.drainedSeconds()})
		lost += fast.lost
	}
	rows = append(rows, row{Name: "reconnect storm: lost", Unit: "count", Thingo: float64(lost), Mosquitto: float64(mq.lost)})
	return rows
}

// reconnectSetup is what the reconnect storm needs from runAll.
type reconnectSetup struct {
	bin, dir    string   // the thingo binary and the run's temporary directory
	logw        *os.File // server output
	thingo      *server
	api         sim.APICaller // the management API of thingo
	mosquitto   *server
	devices     int
	perDevice   int
	concurrency int           // reconnects in flight
	deadline    time.Duration // per storm, from the start of the reconnect
	// fastPacing, when > 0, also runs the storm against a second Thingo
	// started with --offline-pacing fastPacing (1ms, the smallest pacing
	// the configuration accepts, shows the storm without pacing).
	fastPacing time.Duration
}

// runReconnect runs the reconnect storm against Thingo (default pacing),
// mosquitto and, when s.fastPacing > 0, a second Thingo started with
// --offline-pacing s.fastPacing, and returns its rows.
func runReconnect(ctx context.Context, s reconnectSetup, log io.Writer) ([]row, error) {
	lf := func(format string, args ...any) { logf(log, format, args...) }
	th, err := thingoReconnect(ctx, s.thingo.addr, s.api, s.devices, s.perDevice, s.concurrency, s.deadline, lf)
	if err != nil {
		return nil, err
	}
	lf("thingo: reconnect storm (default pacing): %v", th)
	var fast *reconnectResult
	if s.fastPacing > 0 {
		r, err := fastReconnect(ctx, s, lf)
		if err != nil {
			return nil, err
		}
		lf("thingo: reconnect storm (--offline-pacing %v): %v", s.fastPacing, r)
		fast = &r
	}
	mq, err := mosquittoReconnect(ctx, s.mosquitto.addr, s.devices, s.perDevice, s.concurrency, s.deadline, lf)
	if err != nil {
		return nil, err
	}
	lf("mosquitto: reconnect storm: %v", mq)
	return reconnectRows(th, fast, s.fastPacing, mq), nil
}

// fastReconnect starts a second Thingo with --offline-pacing s.fastPacing
// (its own data directory) and runs the Thingo reconnect storm against it.
func fastReconnect(ctx context.Context, s reconnectSetup, lf func(string, ...any)) (reconnectResult, error) {
	dir := filepath.Join(s.dir, "fast-pacing")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return reconnectResult{}, fmt.Errorf("fast pacing dir: %w", err)
	}
	th, err := startThingo(ctx, s.bin, dir, s.logw, "--offline-pacing", s.fastPacing.String())
	if err != nil {
		return reconnectResult{}, err
	}
	defer th.stop()
	cred, _, err := apikey.Load(th.data)
	if err != nil {
		return reconnectResult{}, err
	}
	api := &apiclient.Client{URL: th.http, SecretID: cred.SecretID, SecretKey: cred.SecretKey}
	lf("thingo (--offline-pacing %v) on %s (pid %d)", s.fastPacing, th.addr, th.pid())
	return thingoReconnect(ctx, th.addr, api, s.devices, s.perDevice, s.concurrency, s.deadline, lf)
}
