package bus

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConsoleSessionsBucket(t *testing.T) {
	b := openTest(t, Options{})
	ctx := testCtx(t)
	const ttl = 90 * time.Minute
	cs, err := b.ConsoleSessions(ctx, ttl)
	if err != nil {
		t.Fatalf("ConsoleSessions: %v", err)
	}
	kv, err := b.JetStream().KeyValue(ctx, ConsoleSessionsBucket)
	if err != nil {
		t.Fatalf("KeyValue: %v", err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.TTL() != ttl || st.History() != 1 {
		t.Errorf("bucket TTL %s history %d, want %s and 1", st.TTL(), st.History(), ttl)
	}
	// Opening again with another lifetime updates the bucket.
	if _, err := b.ConsoleSessions(ctx, 2*time.Hour); err != nil {
		t.Fatalf("ConsoleSessions again: %v", err)
	}
	if st, err := kv.Status(ctx); err != nil || st.TTL() != 2*time.Hour {
		t.Errorf("updated TTL = %v, %v", st.TTL(), err)
	}
	if _, err := b.ConsoleSessions(ctx, 0); err == nil {
		t.Error("ConsoleSessions(0) succeeded")
	}

	exp := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	sessions := map[string]ConsoleSession{
		"AbC-_0123456789abcdefghijklmnopq": {User: "AKID1", CSRF: "tok1", Expires: exp},
		"with.dots and spaces*>":           {User: "AKID2", CSRF: "tok2", Expires: exp.Add(time.Hour)},
	}
	for id, s := range sessions {
		if err := cs.Create(ctx, id, s); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	if err := cs.Create(ctx, "AbC-_0123456789abcdefghijklmnopq", ConsoleSession{}); err == nil {
		t.Error("Create of an existing id succeeded")
	}

	tests := []struct {
		name    string
		id      string
		want    ConsoleSession
		wantErr error
	}{
		{"plain id", "AbC-_0123456789abcdefghijklmnopq", sessions["AbC-_0123456789abcdefghijklmnopq"], nil},
		{"odd id", "with.dots and spaces*>", sessions["with.dots and spaces*>"], nil},
		{"unknown", "nope", ConsoleSession{}, ErrNotFound},
		{"empty", "", ConsoleSession{}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cs.Get(ctx, tt.id)
			if !errors.Is(err, tt.wantErr) || !got.Expires.Equal(tt.want.Expires) || got.User != tt.want.User || got.CSRF != tt.want.CSRF {
				t.Errorf("Get = %+v, %v; want %+v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}

	// Ids are secrets: the bucket's keys are not them.
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	n := 0
	for k := range keys.Keys() {
		n++
		if strings.Contains(k, "AbC") {
			t.Errorf("key %q contains the session id", k)
		}
	}
	if n != len(sessions) {
		t.Errorf("%d keys, want %d", n, len(sessions))
	}

	if err := cs.Delete(ctx, "AbC-_0123456789abcdefghijklmnopq"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := cs.Get(ctx, "AbC-_0123456789abcdefghijklmnopq"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete = %v, want ErrNotFound", err)
	}
	for _, id := range []string{"AbC-_0123456789abcdefghijklmnopq", "never", ""} {
		if err := cs.Delete(ctx, id); err != nil {
			t.Errorf("Delete(%q) again: %v", id, err)
		}
	}
	if _, err := cs.Get(ctx, "with.dots and spaces*>"); err != nil {
		t.Errorf("other session gone: %v", err)
	}
}

func TestConsoleSessionsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	b, err := Open(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	cs, err := b.ConsoleSessions(ctx, time.Hour)
	if err != nil {
		t.Fatalf("ConsoleSessions: %v", err)
	}
	want := ConsoleSession{User: "AKID", CSRF: "c", Expires: time.Unix(1800000000, 0).UTC()}
	if err := cs.Create(ctx, "id1", want); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	b = openTest(t, Options{DataDir: dir})
	cs, err = b.ConsoleSessions(ctx, time.Hour)
	if err != nil {
		t.Fatalf("ConsoleSessions after restart: %v", err)
	}
	if got, err := cs.Get(ctx, "id1"); err != nil || got != want {
		t.Errorf("Get after restart = %+v, %v; want %+v", got, err, want)
	}
}
