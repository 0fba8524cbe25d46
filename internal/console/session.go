package console

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// Session is one console login. ID is the secret held by the browser's
// cookie: stores must never log it.
type Session struct {
	ID      string
	User    string    // the SecretId that logged in
	CSRF    string    // the token unsafe requests must carry
	Expires time.Time // the session is refused after this instant
}

// SessionStore keeps console logins. The console checks Expires itself, so
// a store may keep an expired session for a while, but it should drop them
// eventually. Errors mean the store cannot answer (not that the session is
// unknown): the console then answers "sessions unavailable".
type SessionStore interface {
	// Create stores a new session.
	Create(ctx context.Context, s Session) error
	// Get returns the session with id; false when there is none.
	Get(ctx context.Context, id string) (Session, bool, error)
	// Delete removes the session with id; a missing one is not an error.
	Delete(ctx context.Context, id string) error
}

// memorySessions is the default SessionStore: logins in the memory of this
// process, so a restart logs everybody out and each node of a cluster has
// its own logins.
type memorySessions struct {
	mu   sync.Mutex
	byID map[string]Session
	now  func() time.Time
}

func newMemorySessions(now func() time.Time) *memorySessions {
	return &memorySessions{byID: make(map[string]Session), now: now}
}

// Create stores s, dropping the expired sessions while there.
func (m *memorySessions) Create(_ context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for id, old := range m.byID {
		if now.After(old.Expires) {
			delete(m.byID, id)
		}
	}
	m.byID[s.ID] = s
	return nil
}

// Get returns the live session with id; an expired one is dropped.
func (m *memorySessions) Get(_ context.Context, id string) (Session, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.byID[id]
	if !ok {
		return Session{}, false, nil
	}
	if m.now().After(s.Expires) {
		delete(m.byID, id)
		return Session{}, false, nil
	}
	return s, true, nil
}

// Delete removes the session with id.
func (m *memorySessions) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.byID, id)
	return nil
}

// randomToken returns 192 random bits, base64url without padding (32
// characters of [A-Za-z0-9_-]).
func randomToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
