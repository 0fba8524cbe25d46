package broker

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/devauth"
)

// orderHandler records the payloads it gets per client id.
type orderHandler struct {
	mu  sync.Mutex
	got map[string][]string
}

func (h *orderHandler) HandleUplink(_ context.Context, id devauth.Identity, _ string, payload []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got[id.ClientID] = append(h.got[id.ClientID], string(payload))
}

// TestUplinkOrderPerDevice: with several workers, one device's messages still
// reach the Handler in the order they were accepted.
func TestUplinkOrderPerDevice(t *testing.T) {
	h := &orderHandler{got: map[string][]string{}}
	b := &Broker{uplinks: newUplinkQueues(4, 4096), deps: Deps{Handler: h}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, q := range b.uplinks {
		wg.Add(1)
		go func() { defer wg.Done(); b.uplinkWorker(context.Background(), q, stop) }()
	}
	devices := []string{"AB12CD34EFdev1", "AB12CD34EFdev2", "AB12CD34EFdev3", "AB12CD34EFdev4", "AB12CD34EFdev5"}
	const n = 500
	for i := range n {
		for _, d := range devices {
			b.uplinkQueue(d) <- uplink{id: devauth.Identity{ClientID: d}, payload: []byte(strconv.Itoa(i))}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		done := 0
		for _, d := range devices {
			if len(h.got[d]) == n {
				done++
			}
		}
		h.mu.Unlock()
		if done == len(devices) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not every uplink was handled")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	for _, d := range devices {
		for i, p := range h.got[d] {
			if p != strconv.Itoa(i) {
				t.Fatalf("%s: message %d is %q: out of order", d, i, p)
			}
		}
	}
}

func TestQueueKey(t *testing.T) {
	gw := devauth.Identity{ClientID: "GWPRODUCT1gw1", ProductID: "GWPRODUCT1", DeviceName: "gw1", Gateway: true}
	dev := devauth.Identity{ClientID: "AB12CD34EFdev1", ProductID: "AB12CD34EF", DeviceName: "dev1"}
	cases := []struct {
		id          devauth.Identity
		topic, want string
	}{
		{gw, "$thing/up/property/SUBPRODUCT/sub1", "SUBPRODUCTsub1"},
		{gw, "$gateway/operation/GWPRODUCT1/gw1", "GWPRODUCT1gw1"},
		{gw, "not/a/platform/topic/x", "GWPRODUCT1gw1"},
		{dev, "$thing/up/property/AB12CD34EF/dev1", "AB12CD34EFdev1"},
	}
	for _, tc := range cases {
		if got := queueKey(tc.id, tc.topic); got != tc.want {
			t.Errorf("queueKey(%s, %q) = %q, want %q", tc.id.ClientID, tc.topic, got, tc.want)
		}
	}
}
