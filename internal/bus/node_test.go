package bus

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

func TestNodeSubject(t *testing.T) {
	tests := []struct {
		node string
		want string
		ok   bool
	}{
		{"host-1a2b", "thingo.node.host-1a2b.rpc", true},
		{"h.example.com-1", "thingo.node.h=2Eexample=2Ecom-1.rpc", true},
		{"a b", "thingo.node.a=20b.rpc", true},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := NodeSubject(tt.node)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("NodeSubject(%q) = %q, %v; want %q (ok %v)", tt.node, got, err, tt.want, tt.ok)
		}
	}
}

func TestNodeRequest(t *testing.T) {
	b := openTest(t, Options{})
	ctx := testCtx(t)
	srv, err := b.ServeNode("n.1", time.Second, func(ctx context.Context, req []byte) []byte {
		if string(req) == "slow" {
			<-ctx.Done() // the handler's deadline
			return []byte("late")
		}
		return append([]byte("echo:"), req...)
	})
	if err != nil {
		t.Fatalf("ServeNode: %v", err)
	}
	tests := []struct {
		node, req string
		want      string
		err       error
	}{
		{"n.1", "hello", "echo:hello", nil},
		{"n.1", "", "echo:", nil},
		{"n.1", "slow", "late", nil},
		{"n.2", "hello", "", ErrNoNode},
	}
	for _, tt := range tests {
		got, err := b.Request(ctx, tt.node, []byte(tt.req))
		if !errors.Is(err, tt.err) || !bytes.Equal(got, []byte(tt.want)) && tt.err == nil {
			t.Errorf("Request(%s, %q) = %q, %v; want %q, %v", tt.node, tt.req, got, err, tt.want, tt.err)
		}
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := b.Request(ctx, "n.1", []byte("x")); !errors.Is(err, ErrNoNode) {
		t.Errorf("Request after Stop = %v, want ErrNoNode", err)
	}
}

func TestSessionNodes(t *testing.T) {
	b := openTest(t, Options{})
	s := b.SessionNodes()
	ctx := testCtx(t)
	if _, err := s.Get(ctx, "cid:1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing = %v, want ErrNotFound", err)
	}
	steps := []struct {
		op, node string
		want     string // "" not found
	}{
		{"put", "a", "a"},
		{"delete", "b", "a"}, // another node's record stays
		{"put", "b", "b"},
		{"delete", "a", "b"},
		{"delete", "b", ""},
		{"delete", "b", ""}, // missing: no error
		{"put", "a", "a"},
		{"delete", "", ""}, // any node
	}
	for i, st := range steps {
		var err error
		if st.op == "put" {
			err = s.Put(ctx, "cid:1", st.node)
		} else {
			err = s.Delete(ctx, "cid:1", st.node)
		}
		if err != nil {
			t.Fatalf("step %d %s(%s): %v", i, st.op, st.node, err)
		}
		got, err := s.Get(ctx, "cid:1")
		if st.want == "" && !errors.Is(err, ErrNotFound) || st.want != "" && got != st.want {
			t.Errorf("step %d %s(%s): Get = %q, %v; want %q", i, st.op, st.node, got, err, st.want)
		}
	}
}

// TestPresenceNode: with Options.Node, records carry the node and a node
// deletes only its own.
func TestPresenceNode(t *testing.T) {
	a := openTest(t, Options{Node: "a"})
	p := a.Presence()
	other := &Presence{kv: p.kv, node: "b"} // node b on the same bucket
	ctx := testCtx(t)
	if err := p.Put(ctx, "PID", "dev", PresenceRecord{ClientID: "PIDdev"}); err != nil {
		t.Fatal(err)
	}
	if r, err := p.Get(ctx, "PID", "dev"); err != nil || r.Node != "a" {
		t.Fatalf("Get = %+v, %v; want node a", r, err)
	}
	if err := other.Put(ctx, "PID", "dev", PresenceRecord{ClientID: "PIDdev"}); err != nil {
		t.Fatal(err)
	}
	// a's late disconnect does not erase b's record.
	if err := p.Delete(ctx, "PID", "dev"); err != nil {
		t.Fatal(err)
	}
	if r, err := p.Get(ctx, "PID", "dev"); err != nil || r.Node != "b" {
		t.Fatalf("after a's delete: %+v, %v; want node b", r, err)
	}
	if err := other.Delete(ctx, "PID", "dev"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get(ctx, "PID", "dev"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after b's delete: %v, want ErrNotFound", err)
	}
}
