package broker

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/thingo-iot/thingo/internal/devauth"
)

// BenchmarkConnect measures CONNECT/CONNACK/DISCONNECT cycles over TCP with
// paho, 500 connects at most whatever b.N is (ns/op is then meaningless;
// read connects/s).
func BenchmarkConnect(b *testing.B) {
	tb := startBroker(b, Options{}, Deps{})
	url := tb.url(ListenerTCP)
	n := 0
	start := time.Now()
	b.ResetTimer()
	for n < min(b.N, 500) {
		c, code, _, err := dial(b, clientOpts{url: url, dn: fmt.Sprintf("bench%d", n%50), password: testPassword, clean: true})
		if err != nil || code != 0 {
			b.Fatalf("connect: %d %v", code, err)
		}
		c.Disconnect(0)
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "connects/s")
}

// countingHandler counts uplinks.
type countingHandler struct{ n atomic.Int64 }

func (h *countingHandler) HandleUplink(context.Context, devauth.Identity, string, []byte) {
	h.n.Add(1)
}

// BenchmarkUplink measures QoS1 PUBLISH throughput of one device through the
// hook to the Handler.
func BenchmarkUplink(b *testing.B) {
	h := &countingHandler{}
	tb := startBroker(b, Options{UplinkRate: 1 << 30}, Deps{Handler: h})
	c := mustDial(b, clientOpts{url: tb.url(ListenerTCP), dn: "bench", clean: true})
	payload := []byte(`{"method":"report","clientToken":"1","params":{"temperature":21.5}}`)
	topic := "$thing/up/property/" + testPID + "/bench"
	var toks []paho.Token
	start := time.Now()
	sent := 0
	for b.Loop() {
		toks = append(toks, c.Publish(topic, 1, false, payload))
		sent++
		if len(toks) == 256 {
			for _, t := range toks {
				t.Wait()
			}
			toks = toks[:0]
		}
	}
	for _, t := range toks {
		t.Wait()
	}
	checkFor(b, 30*time.Second, func() error {
		if got := h.n.Load(); got != int64(sent) {
			return fmt.Errorf("handled %d of %d", got, sent)
		}
		return nil
	})
	b.ReportMetric(float64(sent)/time.Since(start).Seconds(), "msgs/s")
}
