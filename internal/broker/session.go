package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// sessionRecord is the persisted form of a persistent session.
type sessionRecord struct {
	Version       int                  `json:"v"`
	ProtocolLevel byte                 `json:"protocol_level"`
	Listener      string               `json:"listener"`
	Disconnected  int64                `json:"disconnected"` // unix seconds
	Subscriptions []subscriptionRecord `json:"subscriptions"`
	Inflight      []inflightRecord     `json:"inflight,omitempty"`
}

type subscriptionRecord struct {
	Filter string `json:"filter"`
	QoS    byte   `json:"qos"`
}

type inflightRecord struct {
	PacketID uint16 `json:"id"`
	Topic    string `json:"topic"`
	Payload  []byte `json:"payload"`
	QoS      byte   `json:"qos"`
	Created  int64  `json:"created"`
}

const sessionRecordVersion = 1

// errRestarted is the stop cause of sessions restored after a restart.
var errRestarted = errors.New("broker restarted")

// saveSessions persists every persistent session mochi holds after the
// listeners closed.
func (b *Broker) saveSessions(ctx context.Context) error {
	if b.deps.Sessions == nil {
		return nil
	}
	var errs []error
	for id, cl := range b.srv.Clients.GetAll() {
		if cl.Net.Inline || cl.Properties.Clean {
			continue
		}
		rec := sessionRecord{
			Version:       sessionRecordVersion,
			ProtocolLevel: cl.Properties.ProtocolVersion,
			Listener:      cl.Net.Listener,
			Disconnected:  cl.StopTime(),
		}
		if rec.Disconnected == 0 {
			rec.Disconnected = time.Now().Unix()
		}
		for filter, sub := range cl.State.Subscriptions.GetAll() {
			rec.Subscriptions = append(rec.Subscriptions, subscriptionRecord{Filter: filter, QoS: sub.Qos})
		}
		for _, pk := range cl.State.Inflight.GetAll(false) {
			if pk.FixedHeader.Type != packets.Publish {
				continue
			}
			rec.Inflight = append(rec.Inflight, inflightRecord{
				PacketID: pk.PacketID, Topic: pk.TopicName, Payload: pk.Payload,
				QoS: pk.FixedHeader.Qos, Created: pk.Created,
			})
		}
		data, err := json.Marshal(rec)
		if err != nil {
			errs = append(errs, fmt.Errorf("broker: encode session %s: %w", id, err))
			continue
		}
		if err := b.deps.Sessions.SaveSession(ctx, id, data); err != nil {
			errs = append(errs, fmt.Errorf("broker: save session %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// restoreSessions loads the sessions saved by the previous graceful stop
// into mochi as disconnected persistent sessions, then deletes the records
// (they are saved again at the next stop). The expiry clock of a restored
// session restarts at load time.
func (b *Broker) restoreSessions(ctx context.Context) error {
	if b.deps.Sessions == nil {
		return nil
	}
	recs, err := b.deps.Sessions.LoadSessions(ctx)
	if err != nil {
		return fmt.Errorf("broker: load sessions: %w", err)
	}
	now := time.Now()
	restored := 0
	for id, data := range recs {
		var rec sessionRecord
		if err := json.Unmarshal(data, &rec); err != nil || rec.Version != sessionRecordVersion {
			b.log.Warn("discarding unreadable session record", "client", id, "error", err)
		} else if time.Unix(rec.Disconnected, 0).Add(b.opts.SessionExpiry).After(now) {
			b.restoreSession(id, rec)
			restored++
		}
		if err := b.deps.Sessions.DeleteSession(ctx, id); err != nil {
			return fmt.Errorf("broker: delete session %s: %w", id, err)
		}
	}
	b.log.Info("sessions restored", "count", restored)
	return nil
}

func (b *Broker) restoreSession(id string, rec sessionRecord) {
	cl := b.srv.NewClient(nil, rec.Listener, id, false)
	cl.Properties.ProtocolVersion = rec.ProtocolLevel
	cl.Properties.Clean = false
	cl.Stop(errRestarted) // a session without a connection
	for _, s := range rec.Subscriptions {
		if !mqtt.IsValidFilter(s.Filter, false) {
			continue
		}
		sub := packets.Subscription{Filter: s.Filter, Qos: min(s.QoS, 1)}
		b.srv.Topics.Subscribe(id, sub)
		cl.State.Subscriptions.Add(s.Filter, sub)
	}
	for _, m := range rec.Inflight {
		if m.PacketID == 0 || m.QoS != 1 {
			continue
		}
		cl.State.Inflight.Set(packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: m.QoS},
			PacketID:    m.PacketID,
			TopicName:   m.Topic,
			Payload:     m.Payload,
			Created:     m.Created,
		})
	}
	b.srv.Clients.Add(cl)
}
