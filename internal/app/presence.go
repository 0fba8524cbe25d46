package app

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

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
type presence struct {
	reg *registry.Service
	kv  *bus.Presence
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

func newPresence(reg *registry.Service, kv *bus.Presence, log *slog.Logger) *presence {
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

func (p *presence) run(ctx context.Context) {
	defer close(p.done)
	for {
		select {
		case ev := <-p.events:
			p.apply(ev)
		case <-ctx.Done():
			return
		}
	}
}

// flush applies the events still queued (after run has returned).
func (p *presence) flush() {
	<-p.done
	for {
		select {
		case ev := <-p.events:
			p.apply(ev)
		default:
			return
		}
	}
}

func (p *presence) apply(ev presenceEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key := ev.id.ClientID
	p.mu.Lock()
	if ev.conn != nil {
		p.live[key]++
	} else if p.live[key] > 0 {
		p.live[key]--
	}
	remaining := p.live[key]
	if remaining == 0 {
		delete(p.live, key)
	}
	p.mu.Unlock()

	pid, dn := ev.id.ProductID, ev.id.DeviceName
	if ev.conn != nil {
		ip := ev.conn.RemoteAddr
		if h, _, err := net.SplitHostPort(ip); err == nil {
			ip = h
		}
		keepalive := int(ev.conn.KeepAlive / time.Second)
		if err := p.reg.RecordConnect(ctx, pid, dn, registry.Presence{
			Online: true, LastLogin: ev.at, ClientIP: ip,
			ProtocolLevel: int(ev.conn.ProtocolLevel), KeepAlive: keepalive,
		}); err != nil {
			p.log.Error("record connect", "product", pid, "device", dn, "err", err)
		}
		if err := p.kv.Put(ctx, pid, dn, bus.PresenceRecord{
			ClientID: key, ClientIP: ip, ConnectedAt: ev.at,
			ProtocolLevel: int(ev.conn.ProtocolLevel), KeepAlive: keepalive,
		}); err != nil {
			p.log.Error("presence put", "product", pid, "device", dn, "err", err)
		}
		p.log.Info("device online", "product", pid, "device", dn, "ip", ip, "method", ev.id.Method,
			"protocol", ev.conn.ProtocolLevel, "keepalive", keepalive, "session_present", ev.conn.SessionPresent,
			"listener", ev.conn.Listener)
		return
	}
	if remaining > 0 {
		return // an older connection closed after a takeover
	}
	if err := p.reg.RecordDisconnect(ctx, pid, dn, ev.at); err != nil && !errors.Is(err, registry.ErrDeviceNotFound) {
		p.log.Error("record disconnect", "product", pid, "device", dn, "err", err)
	}
	if err := p.kv.Delete(ctx, pid, dn); err != nil {
		p.log.Error("presence delete", "product", pid, "device", dn, "err", err)
	}
	p.log.Info("device offline", "product", pid, "device", dn, "reason", ev.reason)
}
