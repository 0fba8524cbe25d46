package bus

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// openTest opens a bus (embedded in a temp dir unless o says otherwise)
// and closes it at the end of the test.
func openTest(t testing.TB, o Options) *Bus {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Open(ctx, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"embedded without data dir", Options{}},
		{"embedded with replicas 3", Options{DataDir: "x", Replicas: 3}},
		{"negative replicas", Options{DataDir: "x", Replicas: -1}},
		{"too many replicas", Options{URL: "nats://127.0.0.1:1", Replicas: 7}},
		{"negative limit", Options{DataDir: "x", OfflineLimit: -1}},
		{"negative max age", Options{DataDir: "x", OfflineMaxAge: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Open(context.Background(), tt.o); err == nil {
				t.Fatal("Open succeeded, want error")
			}
		})
	}
}

func TestOpenProvisionsStreams(t *testing.T) {
	b := openTest(t, Options{OfflineLimit: 42, OfflineMaxAge: 36 * time.Hour})
	ctx := testCtx(t)

	s, err := b.JetStream().Stream(ctx, OfflineStream)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	cfg := s.CachedInfo().Config
	if cfg.MaxMsgsPerSubject != 42 || cfg.MaxAge != 36*time.Hour || cfg.Discard != jetstream.DiscardOld ||
		cfg.Storage != jetstream.FileStorage || !cfg.AllowDirect || cfg.Replicas != 1 {
		t.Errorf("offline stream config = %+v", cfg)
	}
	for _, bucket := range []string{PresenceBucket, SessionsBucket} {
		if _, err := b.JetStream().KeyValue(ctx, bucket); err != nil {
			t.Errorf("KeyValue(%s): %v", bucket, err)
		}
	}
	if !b.Conn().IsConnected() {
		t.Error("connection not connected")
	}
}

func TestOpenDefaults(t *testing.T) {
	b := openTest(t, Options{})
	s, err := b.JetStream().Stream(testCtx(t), OfflineStream)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	cfg := s.CachedInfo().Config
	if cfg.MaxMsgsPerSubject != DefaultOfflineLimit || cfg.MaxAge != DefaultOfflineMaxAge {
		t.Errorf("defaults: limit %d, max age %s", cfg.MaxMsgsPerSubject, cfg.MaxAge)
	}
}

func TestCloseTwice(t *testing.T) {
	b, err := Open(testCtx(t), Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if !b.Conn().IsClosed() {
		t.Error("connection still open after Close")
	}
}

// TestRestart checks that queued messages, sessions and presence survive
// Close and a new Open on the same data dir, and that a changed limit is
// applied to the existing stream.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)

	b, err := Open(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	for i := range 3 {
		if err := b.OfflineQueue().Enqueue(ctx, "PID1dev:1", "PID1/dev:1/data", []byte{byte(i)}, 1); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
	}
	if err := b.Sessions().SaveSession(ctx, "PID1dev:1", []byte("session")); err != nil {
		t.Fatalf("SaveSession: %v", err)
	}
	rec := PresenceRecord{Node: "n1", ClientID: "PID1dev:1", ConnectedAt: time.Unix(1700000000, 0).UTC()}
	if err := b.Presence().Put(ctx, "PID1", "dev:1", rec); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	b2 := openTest(t, Options{DataDir: dir, OfflineLimit: 2})
	q := b2.OfflineQueue()
	// The lower limit is applied to the existing subject on update.
	n, err := q.Len(ctx, "PID1dev:1")
	if err != nil || n != 2 {
		t.Fatalf("Len after restart = %d, %v; want 2", n, err)
	}
	var got []byte
	var after uint64
	for {
		seq, _, payload, _, ok, err := q.Next(ctx, "PID1dev:1", after)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if !ok {
			break
		}
		got = append(got, payload...)
		after = seq
	}
	if string(got) != "\x01\x02" {
		t.Errorf("payloads after restart = %v, want [1 2]", got)
	}
	sessions, err := b2.Sessions().LoadSessions(ctx)
	if err != nil || string(sessions["PID1dev:1"]) != "session" {
		t.Errorf("LoadSessions after restart = %q, %v", sessions, err)
	}
	r, err := b2.Presence().Get(ctx, "PID1", "dev:1")
	if err != nil || r != rec {
		t.Errorf("presence after restart = %+v, %v", r, err)
	}
}

func TestNotFoundIsSentinel(t *testing.T) {
	b := openTest(t, Options{})
	_, err := b.Presence().Get(testCtx(t), "P", "d")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing = %v, want ErrNotFound", err)
	}
}

// TestExternalURL runs the bus against a separate nats-server listening on
// a random loopback port, as in cluster mode.
func TestExternalURL(t *testing.T) {
	srv, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: true,
		StoreDir:  t.TempDir(),
		NoSigs:    true,
		NoLog:     true,
	})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("external server not ready")
	}

	b := openTest(t, Options{URL: srv.ClientURL(), DataDir: "ignored"})
	ctx := testCtx(t)
	if err := b.OfflineQueue().Enqueue(ctx, "c:1", "t", []byte("x"), 1); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if n, err := b.OfflineQueue().Len(ctx, "c:1"); err != nil || n != 1 {
		t.Fatalf("Len = %d, %v", n, err)
	}
	if got := b.Conn().ConnectedUrl(); got != srv.ClientURL() {
		t.Errorf("connected to %q, want %q", got, srv.ClientURL())
	}
}

// countHandler counts the records it receives at or above its level.
type countHandler struct {
	level slog.Level
	mu    sync.Mutex
	n     int
}

func (h *countHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h *countHandler) Handle(context.Context, slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }

func (h *countHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

func TestServerLogsQuietByDefault(t *testing.T) {
	tests := []struct {
		level    slog.Level
		wantLogs bool
	}{
		{slog.LevelInfo, false},
		{slog.LevelDebug, true},
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			h := &countHandler{level: tt.level}
			b, err := Open(testCtx(t), Options{DataDir: t.TempDir(), Logger: slog.New(h)})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if err := b.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got := h.count() > 0; got != tt.wantLogs {
				t.Errorf("logged %d records at %s, want logs: %v", h.count(), tt.level, tt.wantLogs)
			}
		})
	}
}
