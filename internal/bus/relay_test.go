package bus

import (
	"context"
	"testing"
	"time"
)

type relayed struct {
	ProductID string `json:"productId"`
	Token     string `json:"token"`
	Payload   []byte `json:"payload"`
}

// TestRelayRoundTrip: a value published on a relay reaches every relay
// subscribed to the subject (here two, as two nodes would be), and none
// subscribed to another subject.
func TestRelayRoundTrip(t *testing.T) {
	b := openTest(t, Options{})
	ctx := testCtx(t)
	subscribe := func(subject string) (*Relay[relayed], chan relayed) {
		got := make(chan relayed, 4)
		r, err := OpenRelay(b, subject, func(_ context.Context, v relayed) { got <- v })
		if err != nil {
			t.Fatalf("OpenRelay: %v", err)
		}
		t.Cleanup(func() {
			if err := r.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return r, got
	}
	r1, got1 := subscribe("thingo.test.calls")
	_, got2 := subscribe("thingo.test.calls")
	_, other := subscribe("thingo.test.other")

	want := relayed{ProductID: "PID0000001", Token: "act-1", Payload: []byte{0, 1, 'x'}}
	if err := r1.Publish(ctx, want); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	for i, ch := range []chan relayed{got1, got2} {
		select {
		case v := <-ch:
			if v.ProductID != want.ProductID || v.Token != want.Token || string(v.Payload) != string(want.Payload) {
				t.Errorf("relay %d got %+v, want %+v", i, v, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("relay %d: nothing received", i)
		}
	}
	select {
	case v := <-other:
		t.Errorf("other subject got %+v", v)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestRelayClosed: after Close the handler is no longer called, and Close
// after the bus is closed is not an error.
func TestRelayClosed(t *testing.T) {
	b := openTest(t, Options{})
	ctx := testCtx(t)
	got := make(chan relayed, 4)
	r, err := OpenRelay(b, "thingo.test.closed", func(_ context.Context, v relayed) { got <- v })
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := r.Publish(ctx, relayed{Token: "late"}); err != nil {
		t.Fatalf("Publish after Close: %v", err)
	}
	if err := b.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-got:
		t.Errorf("closed relay got %+v", v)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := OpenRelay(b, "", func(context.Context, relayed) {}); err == nil {
		t.Error("OpenRelay with an empty subject: no error")
	}
}
