package bus

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
)

func BenchmarkEnqueue(b *testing.B) {
	bus := openTest(b, Options{})
	q := bus.OfflineQueue()
	ctx := context.Background()
	payload := []byte(`{"method":"control","clientToken":"abc","params":{"power_switch":1}}`)
	i := 0
	for b.Loop() {
		if err := q.Enqueue(ctx, fmt.Sprintf("PRODUCTIDdev%d", i%1000), "$thing/down/property/PRODUCTID/dev", payload, 1); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkNext(b *testing.B) {
	bus := openTest(b, Options{})
	q := bus.OfflineQueue()
	ctx := context.Background()
	const clients = 1000
	for i := range clients * 10 {
		if err := q.Enqueue(ctx, fmt.Sprintf("PRODUCTIDdev%d", i%clients), "t", []byte("payload"), 1); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		if _, _, _, _, ok, err := q.Next(ctx, fmt.Sprintf("PRODUCTIDdev%d", i%clients), 0); err != nil || !ok {
			b.Fatalf("Next: ok=%v err=%v", ok, err)
		}
		i++
	}
}

// BenchmarkOpen measures Open->ready of the embedded server on an empty data
// dir, and reports the Go heap retained by one open bus.
func BenchmarkOpen(b *testing.B) {
	ctx := context.Background()
	var total time.Duration
	var heap uint64
	n := 0
	for b.Loop() {
		dir := b.TempDir()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		bus, err := Open(ctx, Options{DataDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		if after.HeapAlloc > before.HeapAlloc {
			heap += after.HeapAlloc - before.HeapAlloc
		}
		n++
		if err := bus.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(n), "ms/open")
	b.ReportMetric(float64(heap)/float64(n)/(1<<20), "heapMB/open")
}
