package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// SubDeviceNodesBucket is the bucket of SubDeviceNodes.
const SubDeviceNodesBucket = "sub-device-nodes"

// SubDeviceRecord says through which gateway, connected to which node, a
// sub-device is online.
type SubDeviceRecord struct {
	Node              string `json:"node"`
	GatewayProductID  string `json:"gwPid"`
	GatewayDeviceName string `json:"gwDn"`
}

// SubDeviceNodes records which node a sub-device is online through (its
// gateway's connection), in the KV bucket "sub-device-nodes" under the key
// "<pid>.<dn>" (escaped as in Presence): in a cluster, a downlink for a
// sub-device must be delivered by its gateway's node.
type SubDeviceNodes struct {
	kv jetstream.KeyValue
}

// OpenSubDeviceNodes creates (or opens) the sub-device bucket.
func (b *Bus) OpenSubDeviceNodes(ctx context.Context) (*SubDeviceNodes, error) {
	kv, err := b.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      SubDeviceNodesBucket,
		Description: "Thingo: which node (gateway connection) each online sub-device is reached through",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    b.replicas(ctx),
	})
	if err != nil {
		return nil, fmt.Errorf("bus: sub-device nodes bucket: %w", err)
	}
	return &SubDeviceNodes{kv: kv}, nil
}

// Put records that sub-device pid/dn is online as described by r.
func (s *SubDeviceNodes) Put(ctx context.Context, pid, dn string, r SubDeviceRecord) error {
	key, err := presenceKey(pid, dn)
	if err != nil {
		return fmt.Errorf("bus: sub-device put: %w", err)
	}
	if r.Node == "" {
		return fmt.Errorf("bus: sub-device put %s: node: %w", key, ErrInvalidID)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("bus: sub-device put %s: %w", key, err)
	}
	if _, err := s.kv.Put(ctx, key, b); err != nil {
		return fmt.Errorf("bus: sub-device put %s: %w", key, err)
	}
	return nil
}

// Get returns the record of sub-device pid/dn, or ErrNotFound when it is
// not online through any gateway.
func (s *SubDeviceNodes) Get(ctx context.Context, pid, dn string) (SubDeviceRecord, error) {
	key, err := presenceKey(pid, dn)
	if err != nil {
		return SubDeviceRecord{}, fmt.Errorf("bus: sub-device get: %w", err)
	}
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return SubDeviceRecord{}, fmt.Errorf("bus: sub-device %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return SubDeviceRecord{}, fmt.Errorf("bus: sub-device get %s: %w", key, err)
	}
	var r SubDeviceRecord
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return SubDeviceRecord{}, fmt.Errorf("bus: sub-device get %s: %w", key, err)
	}
	return r, nil
}

// Delete removes the record of sub-device pid/dn if it is still r (same
// node and gateway): when the sub-device came online through another
// gateway or node meanwhile, its newer record stays. Deleting a missing
// record is not an error.
func (s *SubDeviceNodes) Delete(ctx context.Context, pid, dn string, r SubDeviceRecord) error {
	key, err := presenceKey(pid, dn)
	if err != nil {
		return fmt.Errorf("bus: sub-device delete: %w", err)
	}
	err = deleteIf(ctx, s.kv, key, func(v []byte) bool {
		var cur SubDeviceRecord
		return json.Unmarshal(v, &cur) != nil || cur == r
	})
	if err != nil {
		return fmt.Errorf("bus: sub-device delete %s: %w", key, err)
	}
	return nil
}
