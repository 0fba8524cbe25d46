package broker

import (
	"fmt"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/devauth"
)

func TestGatewayUplinkAllowance(t *testing.T) {
	tests := []struct {
		name    string
		gateway bool
		proxies bool
		subs    int
		want    int
	}{
		{"normal device", false, true, 0, 30},
		{"gateway, no sub-device online", true, true, 0, 30},
		{"gateway, one sub-device", true, true, 1, 60},
		{"gateway, ten sub-devices", true, true, 10, 330},
		{"gateway, capped", true, true, 500, 30 * GatewayRateFactorMax},
		{"gateway, no gateway support", true, false, 10, 30},
		{"normal device ignores proxies", false, true, 10, 30},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &fakeProxies{via: map[string]string{}}
			for i := range tc.subs {
				p.via[fmt.Sprintf("sub%d", i)] = "gw"
			}
			b := &Broker{opts: Options{UplinkRate: 30}}
			if tc.proxies {
				b.deps.Proxies = p
			}
			t0 := time.Unix(1795627705, 0)
			c := &conn{id: devauth.Identity{ProductID: testPID, DeviceName: "gw", Gateway: tc.gateway},
				limiter: newRateLimiter(b.opts.UplinkRate, t0)}
			for c.limiter.allow(t0, b.uplinkRate(c)) {
			} // drain the initial burst
			t1 := t0.Add(time.Second)
			got := 0
			for c.limiter.allow(t1, b.uplinkRate(c)) {
				got++
			}
			if got != tc.want {
				t.Errorf("allowed in one second = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestRateLimiterShrinks(t *testing.T) {
	t0 := time.Unix(1795627705, 0)
	r := newRateLimiter(30, t0)
	for r.allow(t0.Add(time.Second), 300) {
	}
	// The gateway's sub-devices went offline: the bucket is capped at the
	// new rate at once.
	n := 0
	for r.allow(t0.Add(10*time.Second), 30) {
		n++
	}
	if n != 30 {
		t.Fatalf("allowed = %d, want 30", n)
	}
}
