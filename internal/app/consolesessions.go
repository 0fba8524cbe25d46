package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/thingo-iot/thingo/internal/bus"
	"github.com/thingo-iot/thingo/internal/console"
)

// consoleSessionTTL is how long a console login lasts, and the MaxAge of
// the bus bucket that keeps them.
const consoleSessionTTL = console.DefaultSessionTTL

// consoleSessions keeps the console's logins in the bus, so that every node
// of a cluster knows them and they survive a restart (the embedded NATS
// stores JetStream in the data directory).
type consoleSessions struct {
	kv *bus.ConsoleSessions
}

// newConsoleSessions provisions the bus bucket of console logins.
func newConsoleSessions(ctx context.Context, b *bus.Bus) (consoleSessions, error) {
	kv, err := b.ConsoleSessions(ctx, consoleSessionTTL)
	if err != nil {
		return consoleSessions{}, fmt.Errorf("console sessions: %w", err)
	}
	return consoleSessions{kv: kv}, nil
}

// Create implements console.SessionStore.
func (c consoleSessions) Create(ctx context.Context, s console.Session) error {
	return c.kv.Create(ctx, s.ID, bus.ConsoleSession{User: s.User, CSRF: s.CSRF, Expires: s.Expires})
}

// Get implements console.SessionStore.
func (c consoleSessions) Get(ctx context.Context, id string) (console.Session, bool, error) {
	s, err := c.kv.Get(ctx, id)
	if errors.Is(err, bus.ErrNotFound) {
		return console.Session{}, false, nil
	}
	if err != nil {
		return console.Session{}, false, err
	}
	return console.Session{ID: id, User: s.User, CSRF: s.CSRF, Expires: s.Expires}, true, nil
}

// Delete implements console.SessionStore.
func (c consoleSessions) Delete(ctx context.Context, id string) error {
	return c.kv.Delete(ctx, id)
}
