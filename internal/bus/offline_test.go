package bus

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

type queued struct {
	seq     uint64
	topic   string
	payload []byte
	qos     byte
}

// drain walks a client's queue with Next without deleting.
func drain(t *testing.T, q *OfflineQueue, clientID string) []queued {
	t.Helper()
	ctx := testCtx(t)
	var out []queued
	var after uint64
	for {
		seq, topic, payload, qos, ok, err := q.Next(ctx, clientID, after)
		if err != nil {
			t.Fatalf("Next(%q, %d): %v", clientID, after, err)
		}
		if !ok {
			return out
		}
		if seq <= after {
			t.Fatalf("Next(%q, %d) returned seq %d", clientID, after, seq)
		}
		out = append(out, queued{seq, topic, payload, qos})
		after = seq
	}
}

func TestOfflineLimitKeepsNewest(t *testing.T) {
	const limit = 150
	b := openTest(t, Options{OfflineLimit: limit})
	q := b.OfflineQueue()
	ctx := testCtx(t)
	for i := range limit + 1 {
		if err := q.Enqueue(ctx, "c1", "t", []byte(strconv.Itoa(i)), 1); err != nil {
			t.Fatalf("Enqueue %d: %v", i, err)
		}
	}
	n, err := q.Len(ctx, "c1")
	if err != nil || n != limit {
		t.Fatalf("Len = %d, %v; want %d", n, err, limit)
	}
	msgs := drain(t, q, "c1")
	if len(msgs) != limit {
		t.Fatalf("drained %d messages, want %d", len(msgs), limit)
	}
	for i, m := range msgs {
		if want := strconv.Itoa(i + 1); string(m.payload) != want {
			t.Fatalf("message %d payload %q, want %q (first must be dropped, order kept)", i, m.payload, want)
		}
	}
}

func TestOfflineMaxAgeExpires(t *testing.T) {
	b := openTest(t, Options{OfflineMaxAge: time.Second})
	q := b.OfflineQueue()
	ctx := testCtx(t)
	if err := q.Enqueue(ctx, "c1", "t", []byte("x"), 1); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := q.Len(ctx, "c1")
		if err != nil {
			t.Fatalf("Len: %v", err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("message not expired by MaxAge, Len = %d", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, _, _, _, ok, err := q.Next(ctx, "c1", 0); ok || err != nil {
		t.Fatalf("Next after expiry: ok=%v err=%v", ok, err)
	}
}

func TestOfflineQueueOperations(t *testing.T) {
	b := openTest(t, Options{})
	q := b.OfflineQueue()
	ctx := testCtx(t)

	in := []queued{
		{topic: "PID/dev:1/control", payload: []byte(`{"a":1}`), qos: 1},
		{topic: "$thing/down/property/PID/dev:1", payload: nil, qos: 0},
		{topic: " lead and\ttab\r\n ", payload: []byte{0, 1, 2}, qos: 2},
		{topic: "unicode/温度", payload: []byte("u"), qos: 1},
	}
	for _, m := range in {
		if err := q.Enqueue(ctx, "PIDdev:1", m.topic, m.payload, m.qos); err != nil {
			t.Fatalf("Enqueue(%q): %v", m.topic, err)
		}
	}
	if err := q.Enqueue(ctx, "other", "x", []byte("o"), 1); err != nil {
		t.Fatalf("Enqueue other: %v", err)
	}

	got := drain(t, q, "PIDdev:1")
	if len(got) != len(in) {
		t.Fatalf("got %d messages, want %d", len(got), len(in))
	}
	for i := range in {
		if got[i].topic != in[i].topic || !bytes.Equal(got[i].payload, in[i].payload) || got[i].qos != in[i].qos {
			t.Errorf("message %d = %+v, want %+v", i, got[i], in[i])
		}
	}

	// DeleteThrough the second message removes the first two; Next then
	// starts at the third.
	if err := q.DeleteThrough(ctx, "PIDdev:1", got[1].seq); err != nil {
		t.Fatalf("DeleteThrough: %v", err)
	}
	if err := q.DeleteThrough(ctx, "PIDdev:1", got[1].seq); err != nil {
		t.Fatalf("DeleteThrough again must be a no-op: %v", err)
	}
	seq, _, _, _, ok, err := q.Next(ctx, "PIDdev:1", 0)
	if err != nil || !ok || seq != got[2].seq {
		t.Fatalf("Next after delete = %d, %v, %v; want %d", seq, ok, err, got[2].seq)
	}

	// It never touches another client's messages, whatever the seq.
	other := drain(t, q, "other")
	if err := q.DeleteThrough(ctx, "other", got[3].seq); err != nil {
		t.Fatalf("DeleteThrough below other's message: %v", err)
	}
	if n, _ := q.Len(ctx, "other"); n != 1 {
		t.Fatalf("other Len = %d after a delete below its message, want 1", n)
	}
	if err := q.DeleteThrough(ctx, "nobody", other[0].seq); err != nil {
		t.Fatalf("DeleteThrough of a client with nothing queued: %v", err)
	}
	if n, _ := q.Len(ctx, "other"); n != 1 {
		t.Fatalf("other Len = %d after another client's delete, want 1", n)
	}

	if n, err := q.Len(ctx, "PIDdev:1"); err != nil || n != 2 {
		t.Fatalf("Len = %d, %v; want 2", n, err)
	}
	if err := q.Purge(ctx, "PIDdev:1"); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if n, err := q.Len(ctx, "PIDdev:1"); err != nil || n != 0 {
		t.Fatalf("Len after purge = %d, %v", n, err)
	}
	if _, _, _, _, ok, err := q.Next(ctx, "PIDdev:1", 0); ok || err != nil {
		t.Fatalf("Next after purge: ok=%v err=%v", ok, err)
	}
	if n, _ := q.Len(ctx, "other"); n != 1 {
		t.Fatalf("purge touched another client: Len = %d", n)
	}
	// Purging an empty queue is fine.
	if err := q.Purge(ctx, "nobody"); err != nil {
		t.Fatalf("Purge empty: %v", err)
	}
}

func TestOfflineIsolation(t *testing.T) {
	b := openTest(t, Options{OfflineLimit: 5})
	q := b.OfflineQueue()
	ctx := testCtx(t)
	// Client ids that collide if escaping were not injective, or that are
	// prefixes of each other.
	ids := []string{"a", "ab", "a:b", "a=3Ab", "a.b", "a*", "a>", "a b", "A"}
	for i, id := range ids {
		for j := range i + 1 {
			if err := q.Enqueue(ctx, id, "t/"+id, []byte(fmt.Sprint(j)), 1); err != nil {
				t.Fatalf("Enqueue(%q): %v", id, err)
			}
		}
	}
	for i, id := range ids {
		want := min(i+1, 5)
		if n, err := q.Len(ctx, id); err != nil || n != want {
			t.Errorf("Len(%q) = %d, %v; want %d", id, n, err, want)
		}
		for _, m := range drain(t, q, id) {
			if m.topic != "t/"+id {
				t.Errorf("client %q got message for topic %q", id, m.topic)
			}
		}
	}
}

func TestOfflineInvalidInput(t *testing.T) {
	b := openTest(t, Options{})
	q := b.OfflineQueue()
	ctx := testCtx(t)
	tests := []struct {
		name string
		call func() error
	}{
		{"enqueue empty client", func() error { return q.Enqueue(ctx, "", "t", nil, 1) }},
		{"enqueue empty topic", func() error { return q.Enqueue(ctx, "c", "", nil, 1) }},
		{"enqueue qos 3", func() error { return q.Enqueue(ctx, "c", "t", nil, 3) }},
		{"next empty client", func() error { _, _, _, _, _, err := q.Next(ctx, "", 0); return err }},
		{"delete empty client", func() error { return q.DeleteThrough(ctx, "", 1) }},
		{"purge empty client", func() error { return q.Purge(ctx, "") }},
		{"len empty client", func() error { _, err := q.Len(ctx, ""); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil {
				t.Fatal("want error")
			}
		})
	}
}

// TestOfflineManyClientsNoConsumers enqueues and reads for 2,000 client ids
// and checks that no consumer was created on the stream.
func TestOfflineManyClientsNoConsumers(t *testing.T) {
	const clients = 2000
	b := openTest(t, Options{})
	q := b.OfflineQueue()
	ctx := testCtx(t)
	// Eight writers/readers in parallel, as several connections would be.
	const workers = 8
	g, gctx := errgroup.WithContext(ctx)
	for w := range workers {
		g.Go(func() error {
			for i := w; i < clients; i += workers {
				id := fmt.Sprintf("PRODUCT%04ddev:%d", i%10, i)
				if err := q.Enqueue(gctx, id, "t", []byte("m"), 1); err != nil {
					return fmt.Errorf("Enqueue(%q): %w", id, err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	g, gctx = errgroup.WithContext(ctx)
	for w := range workers {
		g.Go(func() error {
			for i := w; i < clients; i += workers {
				id := fmt.Sprintf("PRODUCT%04ddev:%d", i%10, i)
				seq, _, _, _, ok, err := q.Next(gctx, id, 0)
				if err != nil || !ok {
					return fmt.Errorf("Next(%q) ok=%v err=%v", id, ok, err)
				}
				if i%2 == 0 {
					if err := q.DeleteThrough(gctx, id, seq); err != nil {
						return fmt.Errorf("DeleteThrough(%q): %w", id, err)
					}
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	s, err := b.JetStream().Stream(ctx, OfflineStream)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if info.State.Consumers != 0 {
		t.Errorf("consumers = %d, want 0", info.State.Consumers)
	}
	if info.State.Msgs != clients/2 || info.State.NumSubjects != clients/2 {
		t.Errorf("msgs = %d, subjects = %d; want %d each", info.State.Msgs, info.State.NumSubjects, clients/2)
	}
}

// TestOfflineIndex: the embedded bus indexes the clients with queued
// messages, so that purging a client with none asks nobody; the index is
// rebuilt from the stream when the bus reopens, so that a purge after a
// restart still removes what was queued before it.
func TestOfflineIndex(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	b, err := Open(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	q := b.OfflineQueue()
	if q.index == nil {
		t.Fatal("embedded bus: no index")
	}
	for _, c := range []string{"a", "b"} {
		if err := q.Enqueue(ctx, c, "t/"+c, []byte("x"), 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := q.index.len(); n != 2 {
		t.Fatalf("index holds %d clients, want 2", n)
	}
	if err := q.Purge(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := q.Purge(ctx, "nobody"); err != nil {
		t.Fatal(err)
	}
	if n := q.index.len(); n != 1 {
		t.Fatalf("index holds %d clients after purging a, want 1", n)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b = openTest(t, Options{DataDir: dir})
	q = b.OfflineQueue()
	if n := q.index.len(); n != 1 {
		t.Fatalf("reopened index holds %d clients, want 1 (b)", n)
	}
	if n, err := q.Len(ctx, "b"); err != nil || n != 1 {
		t.Fatalf("Len(b) = %d, %v; want 1", n, err)
	}
	if err := q.Purge(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if n, err := q.Len(ctx, "b"); err != nil || n != 0 {
		t.Fatalf("Len(b) after purge = %d, %v; want 0", n, err)
	}
}

// TestQueueIndexKeepsEnqueuedDuringPurge: a message enqueued while a purge
// runs keeps its client in the index.
func TestQueueIndexKeepsEnqueuedDuringPurge(t *testing.T) {
	ix := &queueIndex{subj: map[string]uint64{}}
	ix.add("s")
	gen, ok := ix.lookup("s")
	if !ok {
		t.Fatal("added subject not found")
	}
	ix.add("s") // enqueued while the purge ran
	ix.purged("s", gen)
	if _, ok := ix.lookup("s"); !ok {
		t.Fatal("subject forgotten although a message was enqueued during the purge")
	}
	gen, _ = ix.lookup("s")
	ix.purged("s", gen)
	if _, ok := ix.lookup("s"); ok {
		t.Fatal("subject kept after a purge with nothing enqueued meanwhile")
	}
}
