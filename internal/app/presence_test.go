package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/broker"
	"github.com/thingo-iot/thingo/internal/bus"
	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/internal/registry"
)

// presenceFixture is a presence over a real SQLite registry and the
// presence bucket of a real embedded NATS, with its log in a buffer.
type presenceFixture struct {
	t   *testing.T
	reg *registry.Service
	kv  *bus.Presence
	pid string
	p   *presence

	mu  sync.Mutex
	log bytes.Buffer
}

func newPresenceFixture(t *testing.T, devices ...string) *presenceFixture {
	t.Helper()
	ctx := context.Background()
	f := &presenceFixture{t: t, reg: newRegistry(t)}
	prj, err := f.reg.CreateProject(ctx, registry.ProjectInput{Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	prd, err := f.reg.CreateProduct(ctx, registry.ProductInput{ProjectID: prj.ID, Name: "lamp",
		CategoryID: 1, EncryptionType: registry.EncryptionKey, NetType: "wifi", DataProtocol: 1})
	if err != nil {
		t.Fatal(err)
	}
	f.pid = prd.ID
	for _, dn := range devices {
		if _, err := f.reg.CreateDevice(ctx, f.pid, dn, ""); err != nil {
			t.Fatal(err)
		}
	}
	b, err := bus.Open(ctx, bus.Options{DataDir: filepath.Join(t.TempDir(), "nats")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	f.kv = b.Presence()
	f.p = newPresence(f.reg, f.kv, slog.New(slog.NewTextHandler(lockedWriter{&f.mu, &f.log}, nil)))
	return f
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(b)
}

func (f *presenceFixture) logged() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.log.String()
}

// minute is a millisecond-precise UTC time, as the registry stores it.
func minute(n int) time.Time {
	return time.Date(2026, 3, 1, 12, n, 0, 0, time.UTC)
}

func (f *presenceFixture) identity(dn string) devauth.Identity {
	return devauth.Identity{ProductID: f.pid, DeviceName: dn, ClientID: f.pid + dn, Method: "hmacsha256"}
}

func (f *presenceFixture) connect(dn string, at time.Time, ip string) presenceEvent {
	return presenceEvent{id: f.identity(dn), at: at,
		conn: &broker.Connection{RemoteAddr: ip + ":1234", ProtocolLevel: 4, KeepAlive: time.Minute, Listener: "tcp"}}
}

func (f *presenceFixture) disconnect(dn string, at time.Time) presenceEvent {
	return presenceEvent{id: f.identity(dn), at: at, reason: "closed"}
}

// device returns what the registry and the presence bucket hold of dn; rec
// is nil when the bucket has no record.
func (f *presenceFixture) device(dn string) (registry.Presence, *bus.PresenceRecord) {
	f.t.Helper()
	ctx := context.Background()
	d, err := f.reg.GetDevice(ctx, f.pid, dn)
	if err != nil {
		f.t.Fatal(err)
	}
	r, err := f.kv.Get(ctx, f.pid, dn)
	if errors.Is(err, bus.ErrNotFound) {
		return d.Device.Presence, nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return d.Device.Presence, &r
}

// wantOnline checks that dn is online in the registry and the bucket with
// the connection from ip made at login.
func (f *presenceFixture) wantOnline(dn, ip string, login time.Time) {
	f.t.Helper()
	p, r := f.device(dn)
	if !p.Online || p.ClientIP != ip || !p.LastLogin.Equal(login) {
		f.t.Errorf("%s in registry = %+v, want online from %s since %v", dn, p, ip, login)
	}
	if r == nil || r.ClientIP != ip || !r.ConnectedAt.Equal(login) {
		f.t.Errorf("%s in presence bucket = %+v, want connected from %s at %v", dn, r, ip, login)
	}
}

// wantOffline checks that dn is offline since logout in the registry and has
// no presence record.
func (f *presenceFixture) wantOffline(dn string, logout time.Time) {
	f.t.Helper()
	p, r := f.device(dn)
	if p.Online || !p.LastLogout.Equal(logout) {
		f.t.Errorf("%s in registry = %+v, want offline since %v", dn, p, logout)
	}
	if r != nil {
		f.t.Errorf("%s in presence bucket = %+v, want none", dn, r)
	}
}

// TestPresenceBatches applies batches of events the way run takes them from
// the queue.
func TestPresenceBatches(t *testing.T) {
	t.Run("connect and disconnect in one batch end offline", func(t *testing.T) {
		f := newPresenceFixture(t, "lamp")
		f.p.apply([]presenceEvent{f.connect("lamp", minute(1), "192.0.2.1"), f.disconnect("lamp", minute(2))})
		f.wantOffline("lamp", minute(2))
		if p, _ := f.device("lamp"); !p.FirstOnline.Equal(minute(1)) || !p.LastLogin.Equal(minute(1)) {
			t.Errorf("presence = %+v, want first online and last login at %v", p, minute(1))
		}
		if f.p.live[f.pid+"lamp"] != 0 {
			t.Errorf("live connections = %d, want 0", f.p.live[f.pid+"lamp"])
		}
	})
	t.Run("takeover in one batch stays online", func(t *testing.T) {
		f := newPresenceFixture(t, "lamp")
		f.p.apply([]presenceEvent{
			f.connect("lamp", minute(1), "192.0.2.1"),
			f.connect("lamp", minute(2), "192.0.2.2"), // the new connection takes over
			f.disconnect("lamp", minute(3)),           // the old one closes
		})
		f.wantOnline("lamp", "192.0.2.2", minute(2))
		f.p.apply([]presenceEvent{f.disconnect("lamp", minute(4))})
		f.wantOffline("lamp", minute(4))
	})
	t.Run("takeover across batches stays online", func(t *testing.T) {
		f := newPresenceFixture(t, "lamp")
		f.p.apply([]presenceEvent{f.connect("lamp", minute(1), "192.0.2.1")})
		f.p.apply([]presenceEvent{f.connect("lamp", minute(2), "192.0.2.2")})
		f.p.apply([]presenceEvent{f.disconnect("lamp", minute(3))})
		f.wantOnline("lamp", "192.0.2.2", minute(2))
	})
	t.Run("reconnect in one batch ends online", func(t *testing.T) {
		f := newPresenceFixture(t, "lamp")
		f.p.apply([]presenceEvent{
			f.connect("lamp", minute(1), "192.0.2.1"),
			f.disconnect("lamp", minute(2)),
			f.connect("lamp", minute(3), "192.0.2.3"),
		})
		f.wantOnline("lamp", "192.0.2.3", minute(3))
		if p, _ := f.device("lamp"); !p.LastLogout.Equal(minute(2)) || !p.FirstOnline.Equal(minute(1)) {
			t.Errorf("presence = %+v, want first online %v, last logout %v", p, minute(1), minute(2))
		}
	})
	t.Run("many devices in one batch", func(t *testing.T) {
		var names []string
		for i := range 100 {
			names = append(names, fmt.Sprintf("d%03d", i))
		}
		f := newPresenceFixture(t, names...)
		var evs []presenceEvent
		for i, dn := range names {
			evs = append(evs, f.connect(dn, minute(i%60), fmt.Sprintf("192.0.2.%d", i)))
		}
		f.p.apply(evs)
		for i, dn := range names {
			f.wantOnline(dn, fmt.Sprintf("192.0.2.%d", i), minute(i%60))
		}
		n, err := f.kv.Count(context.Background())
		if err != nil || n != len(names) {
			t.Errorf("presence records = %d, %v; want %d", n, err, len(names))
		}
	})
	t.Run("unknown device does not fail the others", func(t *testing.T) {
		f := newPresenceFixture(t, "a", "b")
		f.p.apply([]presenceEvent{
			f.connect("a", minute(1), "192.0.2.1"),
			f.connect("deleted", minute(1), "192.0.2.9"),
			f.disconnect("deleted", minute(2)),
			f.connect("b", minute(2), "192.0.2.2"),
			f.connect("gone", minute(3), "192.0.2.8"),
		})
		f.wantOnline("a", "192.0.2.1", minute(1))
		f.wantOnline("b", "192.0.2.2", minute(2))
		if log := f.logged(); strings.Contains(log, "level=ERROR") {
			t.Errorf("errors logged:\n%s", log)
		}
	})
}

// TestPresenceRunAndFlush queues more events than one batch holds: run and
// flush apply every one, in order per device, and log one line per event.
func TestPresenceRunAndFlush(t *testing.T) {
	var names []string
	for i := range 150 {
		names = append(names, fmt.Sprintf("d%03d", i))
	}
	f := newPresenceFixture(t, names...)
	// 5 events per device, 750 in all: batches split some devices' events.
	for round := range 5 {
		for i, dn := range names {
			id := f.identity(dn)
			if round%2 == 0 {
				f.p.Connected(id, broker.Connection{RemoteAddr: fmt.Sprintf("192.0.2.%d:1", round), KeepAlive: time.Minute})
			} else {
				f.p.Disconnected(id, minute(round).Add(time.Duration(i)*time.Millisecond), "closed")
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	go f.p.run(ctx)
	cancel()
	f.p.flush()
	if n := len(f.p.events); n != 0 {
		t.Fatalf("%d events left in the queue", n)
	}
	for i, dn := range names {
		p, r := f.device(dn)
		if !p.Online || p.ClientIP != "192.0.2.4" || r == nil || r.ClientIP != "192.0.2.4" {
			t.Errorf("%s = %+v, record %+v; want online from the last connection", dn, p, r)
		}
		if want := minute(3).Add(time.Duration(i) * time.Millisecond); !p.LastLogout.Equal(want) {
			t.Errorf("%s last logout = %v, want %v", dn, p.LastLogout, want)
		}
	}
	log := f.logged()
	if on, off := strings.Count(log, `msg="device online"`), strings.Count(log, `msg="device offline"`); on != 450 || off != 300 {
		t.Errorf("logged %d online, %d offline; want 450, 300", on, off)
	}
}

// recordingKV is a presence bucket that records its operations and checks
// that no two run at once for a device.
type recordingKV struct {
	mu       sync.Mutex
	inFlight map[string]int
	maxAll   int
	running  int
	ops      []string
	overlap  []string
}

func (k *recordingKV) do(op, pid, dn string) {
	key := pid + "/" + dn
	k.mu.Lock()
	k.inFlight[key]++
	k.running++
	k.maxAll = max(k.maxAll, k.running)
	if k.inFlight[key] > 1 {
		k.overlap = append(k.overlap, key)
	}
	k.ops = append(k.ops, op+" "+dn)
	k.mu.Unlock()
	time.Sleep(time.Millisecond)
	k.mu.Lock()
	k.inFlight[key]--
	k.running--
	k.mu.Unlock()
}

func (k *recordingKV) Put(_ context.Context, pid, dn string, _ bus.PresenceRecord) error {
	k.do("put", pid, dn)
	return nil
}

func (k *recordingKV) Delete(_ context.Context, pid, dn string) error {
	k.do("delete", pid, dn)
	return nil
}

// TestPresenceBucketOnePerDevice checks that a batch writes each device's
// final state once, with bounded concurrency.
func TestPresenceBucketOnePerDevice(t *testing.T) {
	f := newPresenceFixture(t)
	kv := &recordingKV{inFlight: map[string]int{}}
	f.p.kv = kv
	var evs []presenceEvent
	for i := range 60 {
		dn := fmt.Sprintf("d%02d", i)
		evs = append(evs, f.connect(dn, minute(1), "192.0.2.1"), f.connect(dn, minute(2), "192.0.2.2"))
		if i%2 == 0 { // both connections close: offline
			evs = append(evs, f.disconnect(dn, minute(3)), f.disconnect(dn, minute(3)))
		}
	}
	f.p.apply(evs)

	puts, deletes := 0, 0
	for _, op := range kv.ops {
		if strings.HasPrefix(op, "put ") {
			puts++
		} else {
			deletes++
		}
	}
	if puts != 30 || deletes != 30 {
		t.Errorf("bucket operations: %d puts, %d deletes; want 30 each (%v)", puts, deletes, kv.ops)
	}
	if len(kv.overlap) > 0 {
		t.Errorf("concurrent operations on %v", kv.overlap)
	}
	if kv.maxAll > presenceKVParallel {
		t.Errorf("%d operations at once, want at most %d", kv.maxAll, presenceKVParallel)
	}
}
