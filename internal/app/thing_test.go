package app

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/bus"
)

// TestBusRawPublishesOnSubject checks that raw uplinks reach the bus on
// thingo.raw.<pid>.<dn>, bytes untouched.
func TestBusRawPublishesOnSubject(t *testing.T) {
	ctx := context.Background()
	if err := (busRaw{}).PublishRaw(ctx, "P", "d", []byte("x")); err != nil {
		t.Errorf("without a bus: %v, want nil", err)
	}
	b, err := bus.Open(ctx, bus.Options{DataDir: filepath.Join(t.TempDir(), "nats")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	sub, err := b.Conn().SubscribeSync(RawSubjectPrefix + ">")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	payload := []byte{0, 0xff, 'r'}
	if err := (busRaw{b: b}).PublishRaw(ctx, "PRODUCTA01", "dev-1:x", payload); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "thingo.raw.PRODUCTA01.dev-1:x" || string(m.Data) != string(payload) {
		t.Errorf("got %s %q", m.Subject, m.Data)
	}
}
