package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// PresenceRecord says which node holds a device's MQTT connection.
type PresenceRecord struct {
	Node          string    `json:"node"`
	ClientID      string    `json:"clientId"`
	ClientIP      string    `json:"clientIp"`
	ConnectedAt   time.Time `json:"connectedAt"`
	ProtocolLevel int       `json:"protocolLevel"`
	KeepAlive     int       `json:"keepAlive"`
}

// Presence stores PresenceRecords in the KV bucket "presence" under the key
// "<pid>.<dn>" (each part escaped as described at DownlinkSubject).
type Presence struct {
	kv   jetstream.KeyValue
	node string // Options.Node
}

func presenceKey(pid, dn string) (string, error) {
	p, err := encodeToken(pid)
	if err != nil {
		return "", fmt.Errorf("product id: %w", err)
	}
	d, err := encodeToken(dn)
	if err != nil {
		return "", fmt.Errorf("device name: %w", err)
	}
	return p + "." + d, nil
}

// Put records that device pid/dn is connected as described by r. An empty
// r.Node is filled with this bus's Options.Node.
func (p *Presence) Put(ctx context.Context, pid, dn string, r PresenceRecord) error {
	key, err := presenceKey(pid, dn)
	if err != nil {
		return fmt.Errorf("bus: presence put: %w", err)
	}
	if r.Node == "" {
		r.Node = p.node
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("bus: presence put %s: %w", key, err)
	}
	if _, err := p.kv.Put(ctx, key, b); err != nil {
		return fmt.Errorf("bus: presence put %s: %w", key, err)
	}
	return nil
}

// Get returns the presence record of device pid/dn, or ErrNotFound when the
// device is not connected anywhere.
func (p *Presence) Get(ctx context.Context, pid, dn string) (PresenceRecord, error) {
	key, err := presenceKey(pid, dn)
	if err != nil {
		return PresenceRecord{}, fmt.Errorf("bus: presence get: %w", err)
	}
	e, err := p.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return PresenceRecord{}, fmt.Errorf("bus: presence %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return PresenceRecord{}, fmt.Errorf("bus: presence get %s: %w", key, err)
	}
	var r PresenceRecord
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return PresenceRecord{}, fmt.Errorf("bus: presence get %s: %w", key, err)
	}
	return r, nil
}

// Delete removes the presence record of device pid/dn. Deleting a missing
// record is not an error. With Options.Node set (a cluster), only a record
// of this node (or without a node) is deleted: when a device moved to
// another node, the old node's late disconnect must not erase the new
// node's record.
func (p *Presence) Delete(ctx context.Context, pid, dn string) error {
	key, err := presenceKey(pid, dn)
	if err != nil {
		return fmt.Errorf("bus: presence delete: %w", err)
	}
	if p.node != "" {
		err = deleteIf(ctx, p.kv, key, func(v []byte) bool {
			var r PresenceRecord
			return json.Unmarshal(v, &r) != nil || r.Node == "" || r.Node == p.node
		})
	} else {
		err = p.kv.Delete(ctx, key)
	}
	if err != nil {
		return fmt.Errorf("bus: presence delete %s: %w", key, err)
	}
	return nil
}

// Count returns the number of devices with a presence record. It walks the
// bucket's keys, so it costs O(connected devices).
func (p *Presence) Count(ctx context.Context) (int, error) {
	return countKeys(ctx, p.kv)
}

// countKeys counts the live keys of kv, skipping delete markers.
func countKeys(ctx context.Context, kv jetstream.KeyValue) (int, error) {
	lister, err := kv.ListKeys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("bus: list keys of %s: %w", kv.Bucket(), err)
	}
	defer func() { _ = lister.Stop() }()
	n := 0
	for range lister.Keys() {
		n++
	}
	return n, nil
}
