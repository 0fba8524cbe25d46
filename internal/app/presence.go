package app

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/thingo-iot/thingo/internal/broker"
	"github.com/thingo-iot/thingo/internal/bus"
	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/internal/registry"
)

// presence records connection events in the registry (device status, first
// online, last login, client IP) and in the bus's presence bucket. Events are
// queued so that broker hooks never wait for SQL, and applied in order by one
// goroutine; a takeover (a new connection before the old one's disconnect)
// keeps the device online because connections are counted per device.
// The goroutine applies what is queued in batches (a connect storm costs one
// registry transaction per batch, not per event), and writes the presence
// bucket once per device and batch, with the device's final state.
type presence struct {
	reg *registry.Service
	kv  presenceKV
	log *slog.Logger

	events chan presenceEvent
	done   chan struct{}
	once   sync.Once

	mu      sync.Mutex
	live    map[string]int // client id -> open connections
	dropped map[string]int64
}

type presenceEvent struct {
	id     devauth.Identity
	conn   *broker.Connection // nil: disconnected
	at     time.Time
	reason string
}

// presenceKV is the presence bucket (*bus.Presence).
type presenceKV interface {
	Put(ctx context.Context, pid, dn string, r bus.PresenceRecord) error
	Delete(ctx context.Context, pid, dn string) error
}

func newPresence(reg *registry.Service, kv presenceKV, log *slog.Logger) *presence {
	return &presence{
		reg: reg, kv: kv, log: log,
		events:  make(chan presenceEvent, 1<<16),
		done:    make(chan struct{}),
		live:    make(map[string]int),
		dropped: make(map[string]int64),
	}
}

var _ broker.Observer = (*presence)(nil)

// Connected implements broker.Observer.
func (p *presence) Connected(id devauth.Identity, c broker.Connection) {
	p.events <- presenceEvent{id: id, conn: &c, at: time.Now()}
}

// Disconnected implements broker.Observer.
func (p *presence) Disconnected(id devauth.Identity, at time.Time, reason string) {
	p.events <- presenceEvent{id: id, at: at, reason: reason}
}

// Dropped implements broker.Observer: every refused or dropped message is
// logged with the device and counted per reason.
func (p *presence) Dropped(id devauth.Identity, topic, reason string) {
	p.mu.Lock()
	p.dropped[reason]++
	p.mu.Unlock()
	p.log.Warn("message dropped", "product", id.ProductID, "device", id.DeviceName, "topic", topic, "reason", reason)
}

// DroppedCount returns how many messages were dropped for reason.
func (p *presence) DroppedCount(reason string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped[reason]
}

// presenceBatch is the most queued events applied together: one registry
// transaction, then one presence bucket operation per device, at most
// presenceKVParallel at a time.
const (
	presenceBatch      = 512
	presenceKVParallel = 16
	presenceTimeout    = 10 * time.Second // per registry batch and per bucket operation
)

func (p *presence) run(ctx context.Context) {
	defer close(p.done)
	batch := make([]presenceEvent, 0, presenceBatch)
	for {
		select {
		case ev := <-p.events:
			batch = p.drain(append(batch, ev))
			p.apply(batch)
			clear(batch)
			batch = batch[:0]
		case <-ctx.Done():
			return
		}
	}
}

// flush applies the events still queued (after run has returned).
func (p *presence) flush() {
	<-p.done
	batch := make([]presenceEvent, 0, presenceBatch)
	for {
		batch = p.drain(batch[:0])
		if len(batch) == 0 {
			return
		}
		p.apply(batch)
		clear(batch)
	}
}

// drain appends the events already queued to batch, without waiting, until
// it holds presenceBatch events.
func (p *presence) drain(batch []presenceEvent) []presenceEvent {
	for len(batch) < presenceBatch {
		select {
		case ev := <-p.events:
			batch = append(batch, ev)
		default:
			return batch
		}
	}
	return batch
}

// presenceStep is an event that changes a device's presence: a connect, or
// a disconnect that left the device without connections.
type presenceStep struct {
	ev        presenceEvent
	ip        string // connects: the client's IP without port
	keepalive int    // connects: seconds
}

func newPresenceStep(ev presenceEvent) presenceStep {
	st := presenceStep{ev: ev}
	if ev.conn != nil {
		st.ip = ev.conn.RemoteAddr
		if h, _, err := net.SplitHostPort(st.ip); err == nil {
			st.ip = h
		}
		st.keepalive = int(ev.conn.KeepAlive / time.Second)
	}
	return st
}

func (st presenceStep) change() registry.PresenceChange {
	c := registry.PresenceChange{ProductID: st.ev.id.ProductID, Name: st.ev.id.DeviceName, Online: st.ev.conn != nil}
	if c.Online {
		c.Presence = registry.Presence{
			Online: true, LastLogin: st.ev.at, ClientIP: st.ip,
			ProtocolLevel: int(st.ev.conn.ProtocolLevel), KeepAlive: st.keepalive,
		}
	} else {
		c.At = st.ev.at
	}
	return c
}

// apply applies a batch of events in order: the connection counts per
// event, then every presence change in one registry call, then the
// presence bucket with each device's final state, then the log lines.
func (p *presence) apply(evs []presenceEvent) {
	steps := make([]presenceStep, 0, len(evs))
	p.mu.Lock()
	for _, ev := range evs {
		key := ev.id.ClientID
		if ev.conn != nil {
			p.live[key]++
		} else if p.live[key] > 0 {
			p.live[key]--
		}
		remaining := p.live[key]
		if remaining == 0 {
			delete(p.live, key)
		}
		if ev.conn == nil && remaining > 0 {
			continue // an older connection closed after a takeover
		}
		steps = append(steps, newPresenceStep(ev))
	}
	p.mu.Unlock()
	if len(steps) == 0 {
		return
	}

	p.record(steps)
	p.publish(steps)
	for _, st := range steps {
		pid, dn := st.ev.id.ProductID, st.ev.id.DeviceName
		if c := st.ev.conn; c != nil {
			p.log.Info("device online", "product", pid, "device", dn, "ip", st.ip, "method", st.ev.id.Method,
				"protocol", c.ProtocolLevel, "keepalive", st.keepalive, "session_present", c.SessionPresent,
				"listener", c.Listener)
		} else {
			p.log.Info("device offline", "product", pid, "device", dn, "reason", st.ev.reason)
		}
	}
}

// record writes steps to the registry in one call. Changes of devices that
// no longer exist are skipped by the store. When the batch fails (one
// transaction: a busy or failing database), the changes are retried one at
// a time so that one bad change does not lose the others; each that still
// fails is logged.
func (p *presence) record(steps []presenceStep) {
	changes := make([]registry.PresenceChange, len(steps))
	for i, st := range steps {
		changes[i] = st.change()
	}
	ctx, cancel := context.WithTimeout(context.Background(), presenceTimeout)
	defer cancel()
	err := p.reg.RecordPresence(ctx, changes)
	if err == nil {
		return
	}
	if len(changes) > 1 {
		p.log.Warn("record presence batch failed, retrying one by one", "batch", len(changes), "err", err)
	}
	for _, c := range changes {
		if len(changes) > 1 {
			cctx, ccancel := context.WithTimeout(context.Background(), presenceTimeout)
			err = p.reg.RecordPresence(cctx, []registry.PresenceChange{c})
			ccancel()
			if err == nil {
				continue
			}
		}
		msg := "record disconnect"
		if c.Online {
			msg = "record connect"
		}
		p.log.Error(msg, "product", c.ProductID, "device", c.Name, "err", err)
	}
}

// publish brings the presence bucket to each device's final state in
// steps: its last step is a connect (Put) or a disconnect (Delete). Devices
// are written concurrently, each by one operation.
func (p *presence) publish(steps []presenceStep) {
	type device struct{ pid, dn string }
	last := make(map[device]int, len(steps)) // device -> index of its last step
	for i, st := range steps {
		last[device{st.ev.id.ProductID, st.ev.id.DeviceName}] = i
	}
	var g errgroup.Group
	g.SetLimit(presenceKVParallel)
	for i, st := range steps {
		if last[device{st.ev.id.ProductID, st.ev.id.DeviceName}] != i {
			continue
		}
		g.Go(func() error {
			p.publishOne(st)
			return nil
		})
	}
	_ = g.Wait() // publishOne logs its errors
}

func (p *presence) publishOne(st presenceStep) {
	ctx, cancel := context.WithTimeout(context.Background(), presenceTimeout)
	defer cancel()
	pid, dn := st.ev.id.ProductID, st.ev.id.DeviceName
	if c := st.ev.conn; c != nil {
		if err := p.kv.Put(ctx, pid, dn, bus.PresenceRecord{
			ClientID: st.ev.id.ClientID, ClientIP: st.ip, ConnectedAt: st.ev.at,
			ProtocolLevel: int(c.ProtocolLevel), KeepAlive: st.keepalive,
		}); err != nil {
			p.log.Error("presence put", "product", pid, "device", dn, "err", err)
		}
		return
	}
	if err := p.kv.Delete(ctx, pid, dn); err != nil {
		p.log.Error("presence delete", "product", pid, "device", dn, "err", err)
	}
}
