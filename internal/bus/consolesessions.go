package bus

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ConsoleSessionsBucket is the KV bucket of ConsoleSessions.
const ConsoleSessionsBucket = "console-sessions"

// ConsoleSession is one web console login as stored in the bucket. The
// session id is not part of it: it is the key.
type ConsoleSession struct {
	User    string    `json:"user"`
	CSRF    string    `json:"csrf"`
	Expires time.Time `json:"expires"`
}

// ConsoleSessions keeps the web console's logins in the KV bucket
// "console-sessions", shared by every node of a cluster and kept across
// restarts. Entries expire with the bucket's MaxAge, the session lifetime.
//
// The key of a session is the SHA-256 of its id (base64url): ids are
// secrets, so they appear neither in the bucket nor in errors, and any id a
// browser sends makes a valid key.
type ConsoleSessions struct {
	kv jetstream.KeyValue
}

// ConsoleSessions creates or updates the "console-sessions" bucket with ttl
// as its MaxAge, with as many replicas as the bus's other buckets, and
// returns the store.
func (b *Bus) ConsoleSessions(ctx context.Context, ttl time.Duration) (*ConsoleSessions, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("bus: console sessions: ttl %s must be positive", ttl)
	}
	// The presence bucket was created by Open with the configured replicas.
	st, err := b.js.Stream(ctx, "KV_"+PresenceBucket)
	if err != nil {
		return nil, fmt.Errorf("bus: console sessions: presence bucket: %w", err)
	}
	kv, err := b.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      ConsoleSessionsBucket,
		Description: "Thingo: web console logins",
		History:     1,
		TTL:         ttl,
		Storage:     jetstream.FileStorage,
		Replicas:    st.CachedInfo().Config.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("bus: console sessions bucket: %w", err)
	}
	return &ConsoleSessions{kv: kv}, nil
}

// consoleSessionKey is the bucket key of session id.
func consoleSessionKey(id string) string {
	h := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// Create stores a new session under id. An id already in use is an error.
func (c *ConsoleSessions) Create(ctx context.Context, id string, s ConsoleSession) error {
	if id == "" {
		return fmt.Errorf("bus: create console session: %w: empty", ErrInvalidID)
	}
	v, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("bus: create console session: %w", err)
	}
	if _, err := c.kv.Create(ctx, consoleSessionKey(id), v); err != nil {
		return fmt.Errorf("bus: create console session: %w", err)
	}
	return nil
}

// Get returns the session with id, or ErrNotFound.
func (c *ConsoleSessions) Get(ctx context.Context, id string) (ConsoleSession, error) {
	if id == "" {
		return ConsoleSession{}, fmt.Errorf("bus: console session: %w", ErrNotFound)
	}
	e, err := c.kv.Get(ctx, consoleSessionKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return ConsoleSession{}, fmt.Errorf("bus: console session: %w", ErrNotFound)
	}
	if err != nil {
		return ConsoleSession{}, fmt.Errorf("bus: get console session: %w", err)
	}
	var s ConsoleSession
	if err := json.Unmarshal(e.Value(), &s); err != nil {
		return ConsoleSession{}, fmt.Errorf("bus: decode console session: %w", err)
	}
	return s, nil
}

// Delete removes the session with id. Deleting a missing session is not an
// error.
func (c *ConsoleSessions) Delete(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	if err := c.kv.Delete(ctx, consoleSessionKey(id)); err != nil {
		return fmt.Errorf("bus: delete console session: %w", err)
	}
	return nil
}
