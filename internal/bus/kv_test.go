package bus

import (
	"errors"
	"testing"
	"time"
)

func TestPresenceCRUD(t *testing.T) {
	b := openTest(t, Options{})
	p := b.Presence()
	ctx := testCtx(t)

	recs := []struct {
		pid, dn string
		r       PresenceRecord
	}{
		{"ABCDEFGHIJ", "dev_1", PresenceRecord{Node: "n1", ClientID: "ABCDEFGHIJdev_1", ClientIP: "10.0.0.1", ConnectedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), ProtocolLevel: 4, KeepAlive: 240}},
		{"ABCDEFGHIJ", "gw:sub-2", PresenceRecord{Node: "n2", ClientID: "ABCDEFGHIJgw:sub-2", ClientIP: "::1", ProtocolLevel: 5, KeepAlive: 60}},
		{"ABCDEFGHIJ", "dev.1", PresenceRecord{Node: "n1", ClientID: "odd"}},
	}
	if n, err := p.Count(ctx); err != nil || n != 0 {
		t.Fatalf("Count empty = %d, %v", n, err)
	}
	for _, r := range recs {
		if err := p.Put(ctx, r.pid, r.dn, r.r); err != nil {
			t.Fatalf("Put(%s/%s): %v", r.pid, r.dn, err)
		}
	}
	for _, r := range recs {
		got, err := p.Get(ctx, r.pid, r.dn)
		if err != nil || got != r.r {
			t.Errorf("Get(%s/%s) = %+v, %v; want %+v", r.pid, r.dn, got, err, r.r)
		}
	}
	if n, err := p.Count(ctx); err != nil || n != len(recs) {
		t.Fatalf("Count = %d, %v; want %d", n, err, len(recs))
	}

	// Overwrite (takeover by another node).
	moved := recs[0].r
	moved.Node = "n3"
	if err := p.Put(ctx, recs[0].pid, recs[0].dn, moved); err != nil {
		t.Fatalf("Put overwrite: %v", err)
	}
	if got, _ := p.Get(ctx, recs[0].pid, recs[0].dn); got.Node != "n3" {
		t.Errorf("after overwrite Node = %q", got.Node)
	}

	if err := p.Delete(ctx, recs[1].pid, recs[1].dn); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := p.Delete(ctx, recs[1].pid, recs[1].dn); err != nil {
		t.Fatalf("Delete missing: %v", err)
	}
	if _, err := p.Get(ctx, recs[1].pid, recs[1].dn); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get deleted = %v, want ErrNotFound", err)
	}
	if n, err := p.Count(ctx); err != nil || n != len(recs)-1 {
		t.Fatalf("Count after delete = %d, %v; want %d", n, err, len(recs)-1)
	}

	for _, bad := range [][2]string{{"", "d"}, {"P", ""}} {
		if err := p.Put(ctx, bad[0], bad[1], PresenceRecord{}); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Put(%q, %q) = %v, want ErrInvalidID", bad[0], bad[1], err)
		}
	}
}

func TestSessionsCRUD(t *testing.T) {
	b := openTest(t, Options{})
	s := b.Sessions()
	ctx := testCtx(t)

	got, err := s.LoadSessions(ctx)
	if err != nil || len(got) != 0 {
		t.Fatalf("LoadSessions empty = %v, %v", got, err)
	}
	want := map[string][]byte{
		"PIDdev_1":   []byte(`{"subs":["a"]}`),
		"PIDgw:sub":  []byte("x"),
		"weird id.*": []byte("y"),
		"empty":      {},
	}
	for id, data := range want {
		if err := s.SaveSession(ctx, id, data); err != nil {
			t.Fatalf("SaveSession(%q): %v", id, err)
		}
	}
	if err := s.SaveSession(ctx, "PIDgw:sub", []byte("x2")); err != nil {
		t.Fatalf("SaveSession overwrite: %v", err)
	}
	want["PIDgw:sub"] = []byte("x2")
	if err := s.DeleteSession(ctx, "weird id.*"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	delete(want, "weird id.*")
	if err := s.DeleteSession(ctx, "never-saved"); err != nil {
		t.Fatalf("DeleteSession missing: %v", err)
	}

	got, err = s.LoadSessions(ctx)
	if err != nil {
		t.Fatalf("LoadSessions: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("LoadSessions = %q, want %q", got, want)
	}
	for id, data := range want {
		if string(got[id]) != string(data) {
			t.Errorf("session %q = %q, want %q", id, got[id], data)
		}
	}
	if err := s.SaveSession(ctx, "", nil); !errors.Is(err, ErrInvalidID) {
		t.Errorf("SaveSession empty id = %v, want ErrInvalidID", err)
	}

	// Deleting everything leaves only markers; LoadSessions is empty again.
	for id := range want {
		if err := s.DeleteSession(ctx, id); err != nil {
			t.Fatalf("DeleteSession(%q): %v", id, err)
		}
	}
	if got, err := s.LoadSessions(ctx); err != nil || len(got) != 0 {
		t.Fatalf("LoadSessions after deleting all = %q, %v", got, err)
	}
}
