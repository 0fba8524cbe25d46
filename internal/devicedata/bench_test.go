package devicedata_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/store/sqlite"
)

// BenchmarkWriteReports commits b.N property reports of five values (the
// bench's C SDK example model) from 20 devices, each waiting for its commit
// before the next, through the group-commit writer into SQLite: the write
// half of the report path without MQTT.
//
//	go test ./internal/devicedata -run '^$' -bench WriteReports -benchtime 20000x -cpuprofile cpu.out
func BenchmarkWriteReports(b *testing.B) {
	const devices = 20
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc, err := devicedata.NewService(devicedata.Config{Store: st, Retention: -1})
	if err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { svc.Run(runCtx); close(done) }()
	defer func() { cancel(); <-done }()

	var left, failed atomic.Int64
	left.Store(int64(b.N))
	b.ResetTimer()
	var wg sync.WaitGroup
	for d := range devices {
		wg.Go(func() {
			name := "dev" + strconv.Itoa(d)
			for n := 0; left.Add(-1) >= 0; n++ {
				r := devicedata.Report{ProductID: "PRODUCT01", DeviceName: name, At: time.UnixMilli(int64(n + 1)),
					Values: []devicedata.PropertyValue{
						{ID: "power_switch", Value: json.RawMessage(strconv.Itoa(n % 2))},
						{ID: "color", Value: json.RawMessage(strconv.Itoa(n % 3))},
						{ID: "brightness", Value: json.RawMessage(strconv.Itoa((d + n) % 101))},
						{ID: "name", Value: json.RawMessage(`"bench-` + strconv.Itoa(d) + `"`)},
						{ID: "position", Value: json.RawMessage(`{"longitude":` + strconv.Itoa(n%361-180) + `,"latitude":1}`)},
					}}
				if err := svc.Write(ctx, devicedata.Batch{Reports: []devicedata.Report{r}}); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d writes failed", n)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}
