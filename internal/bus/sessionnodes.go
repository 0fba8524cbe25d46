package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// SessionNodes records which node keeps each persistent MQTT session, in
// the KV bucket "session-nodes" keyed by the escaped client id: in a
// cluster, a session lives in the memory of the node the device last
// connected to, and a message for a device that is offline everywhere must
// be queued by that node.
type SessionNodes struct {
	kv jetstream.KeyValue
}

// Put records that node keeps the session of clientID.
func (s *SessionNodes) Put(ctx context.Context, clientID, node string) error {
	key, err := encodeToken(clientID)
	if err != nil {
		return fmt.Errorf("bus: session node put: client id: %w", err)
	}
	if _, err := s.kv.Put(ctx, key, []byte(node)); err != nil {
		return fmt.Errorf("bus: session node put %q: %w", clientID, err)
	}
	return nil
}

// Get returns the node keeping the session of clientID, or ErrNotFound.
func (s *SessionNodes) Get(ctx context.Context, clientID string) (string, error) {
	key, err := encodeToken(clientID)
	if err != nil {
		return "", fmt.Errorf("bus: session node get: client id: %w", err)
	}
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", fmt.Errorf("bus: session node %q: %w", clientID, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("bus: session node get %q: %w", clientID, err)
	}
	return string(e.Value()), nil
}

// Delete removes the record of clientID if it still names node (another
// node may have taken the session over meanwhile). node "" deletes any
// record. Deleting a missing record is not an error.
func (s *SessionNodes) Delete(ctx context.Context, clientID, node string) error {
	key, err := encodeToken(clientID)
	if err != nil {
		return fmt.Errorf("bus: session node delete: client id: %w", err)
	}
	if err := deleteIf(ctx, s.kv, key, func(v []byte) bool { return node == "" || string(v) == node }); err != nil {
		return fmt.Errorf("bus: session node delete %q: %w", clientID, err)
	}
	return nil
}

// deleteIf deletes key if its current value satisfies match, and only if
// it was not written since it was read.
func deleteIf(ctx context.Context, kv jetstream.KeyValue, key string, match func([]byte) bool) error {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !match(e.Value()) {
		return nil
	}
	err = kv.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		return nil // written meanwhile: the newer record stays
	}
	return err
}
