package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Sessions stores the broker's persistent MQTT sessions, opaque to the bus,
// in the KV bucket "sessions" keyed by the escaped client id. Entries do not
// expire here; the broker deletes sessions it expires.
type Sessions struct {
	kv jetstream.KeyValue
}

// SaveSession stores data as the session of clientID, replacing any
// previous one.
func (s *Sessions) SaveSession(ctx context.Context, clientID string, data []byte) error {
	key, err := encodeToken(clientID)
	if err != nil {
		return fmt.Errorf("bus: save session: client id: %w", err)
	}
	if _, err := s.kv.Put(ctx, key, data); err != nil {
		return fmt.Errorf("bus: save session %q: %w", clientID, err)
	}
	return nil
}

// LoadSessions returns every stored session by client id.
func (s *Sessions) LoadSessions(ctx context.Context) (map[string][]byte, error) {
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("bus: load sessions: %w", err)
	}
	defer func() { _ = w.Stop() }()
	out := make(map[string][]byte)
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("bus: load sessions: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("bus: load sessions: watcher closed")
			}
			if e == nil {
				// All current values have been delivered.
				return out, nil
			}
			id, err := decodeToken(e.Key())
			if err != nil {
				return nil, fmt.Errorf("bus: load sessions: key %q: %w", e.Key(), err)
			}
			out[id] = e.Value()
		}
	}
}

// DeleteSession removes the session of clientID. Deleting a missing session
// is not an error.
func (s *Sessions) DeleteSession(ctx context.Context, clientID string) error {
	key, err := encodeToken(clientID)
	if err != nil {
		return fmt.Errorf("bus: delete session: client id: %w", err)
	}
	if err := s.kv.Delete(ctx, key); err != nil {
		return fmt.Errorf("bus: delete session %q: %w", clientID, err)
	}
	return nil
}
