package bus

import (
	"context"
	"errors"
	"testing"
	"time"
)

// campaignAsync runs Campaign on a goroutine and returns its result channel.
func campaignAsync(ctx context.Context, b *Bus, name, node string, ttl time.Duration) <-chan *Lease {
	ch := make(chan *Lease, 1)
	go func() {
		l, err := b.Campaign(ctx, name, node, ttl)
		if err != nil {
			l = nil
		}
		ch <- l
	}()
	return ch
}

// holder returns the node named by lease name's record ("" when none).
func holder(t *testing.T, b *Bus, name string) string {
	t.Helper()
	kv, err := b.JetStream().KeyValue(testCtx(t), LeaseBucket(name))
	if err != nil {
		t.Fatalf("lease bucket: %v", err)
	}
	e, err := kv.Get(testCtx(t), leaseKey)
	if err != nil {
		return ""
	}
	return string(e.Value())
}

func TestCampaignValidation(t *testing.T) {
	b := openTest(t, Options{})
	tests := []struct {
		name, lease, node string
		ttl               time.Duration
	}{
		{"empty node", "ota", "", time.Second},
		{"short ttl", "ota", "n1", time.Millisecond},
		{"bad name", "ota engine", "n1", time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if l, err := b.Campaign(testCtx(t), tt.lease, tt.node, tt.ttl); err == nil {
				_ = l.Resign(testCtx(t))
				t.Fatal("Campaign succeeded")
			}
		})
	}
}

func TestCampaignResignHandsOver(t *testing.T) {
	b := openTest(t, Options{})
	ctx := testCtx(t)
	const ttl = time.Second
	l1, err := b.Campaign(ctx, "work", "n1", ttl)
	if err != nil {
		t.Fatalf("Campaign n1: %v", err)
	}
	second := campaignAsync(ctx, b, "work", "n2", ttl)
	// n1 renews: n2 keeps waiting over more than a ttl.
	deadline := time.Now().Add(ttl + ttl/2)
	for time.Now().Before(deadline) {
		select {
		case l := <-second:
			t.Fatalf("n2 won while n1 holds the lease (%v)", l != nil)
		case <-l1.Done():
			t.Fatalf("n1 lost its lease: %v", l1.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if got := holder(t, b, "work"); got != "n1" {
		t.Fatalf("holder = %q, want n1", got)
	}
	if err := l1.Resign(ctx); err != nil {
		t.Fatalf("Resign: %v", err)
	}
	if err := l1.Resign(ctx); err != nil {
		t.Fatalf("Resign again: %v", err)
	}
	select {
	case <-l1.Done():
	default:
		t.Fatal("Done not closed after Resign")
	}
	l2 := <-second
	if l2 == nil {
		t.Fatal("n2 did not win after n1 resigned")
	}
	defer func() { _ = l2.Resign(ctx) }()
	if got := holder(t, b, "work"); got != "n2" {
		t.Fatalf("holder = %q, want n2", got)
	}
}

func TestCampaignTakesOverExpiredLease(t *testing.T) {
	b := openTest(t, Options{})
	ctx := testCtx(t)
	const ttl = 400 * time.Millisecond
	l1, err := b.Campaign(ctx, "expiry", "n1", ttl)
	if err != nil {
		t.Fatalf("Campaign n1: %v", err)
	}
	// n1 crashes: it stops renewing without releasing the lease.
	l1.resign.Do(func() { close(l1.stop) })
	l1.wg.Wait()
	l2, err := b.Campaign(ctx, "expiry", "n2", ttl)
	if err != nil {
		t.Fatalf("Campaign n2: %v", err)
	}
	defer func() { _ = l2.Resign(ctx) }()
	if got := holder(t, b, "expiry"); got != "n2" {
		t.Fatalf("holder = %q, want n2", got)
	}
}

func TestLeaseLostWhenOverwritten(t *testing.T) {
	b := openTest(t, Options{})
	ctx := testCtx(t)
	const ttl = 600 * time.Millisecond
	l1, err := b.Campaign(ctx, "lost", "n1", ttl)
	if err != nil {
		t.Fatalf("Campaign n1: %v", err)
	}
	kv, err := b.JetStream().KeyValue(ctx, LeaseBucket("lost"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, leaseKey, []byte("intruder")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l1.Done():
	case <-ctx.Done():
		t.Fatal("lease not lost after another node wrote it")
	}
	if !errors.Is(l1.Err(), ErrLeaseLost) {
		t.Fatalf("Err = %v, want ErrLeaseLost", l1.Err())
	}
	// Resigning a lost lease leaves the other holder's record.
	if err := l1.Resign(ctx); err != nil {
		t.Fatalf("Resign: %v", err)
	}
	if got := holder(t, b, "lost"); got != "intruder" {
		t.Fatalf("holder = %q, want intruder", got)
	}
}

func TestCampaignSameNodeRetakes(t *testing.T) {
	b := openTest(t, Options{})
	ctx := testCtx(t)
	const ttl = 5 * time.Second
	l1, err := b.Campaign(ctx, "restart", "n1", ttl)
	if err != nil {
		t.Fatalf("Campaign: %v", err)
	}
	l1.resign.Do(func() { close(l1.stop) }) // the process restarts
	l1.wg.Wait()
	l2, err := b.Campaign(ctx, "restart", "n1", ttl)
	if err != nil {
		t.Fatalf("Campaign after restart: %v", err)
	}
	if err := l2.Resign(ctx); err != nil {
		t.Fatalf("Resign: %v", err)
	}
	if got := holder(t, b, "restart"); got != "" {
		t.Fatalf("holder after Resign = %q, want none", got)
	}
}

func TestCampaignCancelled(t *testing.T) {
	b := openTest(t, Options{})
	ctx := testCtx(t)
	l1, err := b.Campaign(ctx, "busy", "n1", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l1.Resign(ctx) }()
	cctx, cancel := context.WithCancel(ctx)
	res := make(chan error, 1)
	go func() {
		_, err := b.Campaign(cctx, "busy", "n2", time.Second)
		res <- err
	}()
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("Campaign after cancel = %v, want context.Canceled", err)
	}
}
