package e2e

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOTAConcurrentDownloadMemory downloads an 8 MiB firmware 100 times at
// once from a real node and checks that the heap does not grow with the
// number of downloads (files are streamed, never held in memory). It logs
// the peak heap and, on Linux, the process's peak RSS.
func TestOTAConcurrentDownloadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 800 MiB over loopback")
	}
	const (
		size    = 8 << 20
		clients = 100
	)
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	d := s.newDevice(pid, "dev1")
	fw := make([]byte, size)
	_, _ = rand.Read(fw)
	s.uploadFirmware(pid, "2.0.0", fw)
	fw = nil
	dev := connectOTA(t, s, d)
	dev.reportVersion("1.0.0")
	s.mustCall("UpdateFirmware", map[string]any{"ProductID": pid, "DeviceName": "dev1", "FirmwareVersion": "2.0.0", "FirmwareOriVersion": "1.0.0"}, nil)
	up, _ := dev.next("update_firmware")
	url := up["url"].(string)

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var (
		peak uint64
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	go func() { // sample the heap while the downloads run
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	tr := &http.Transport{MaxConnsPerHost: clients, MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Go(func() {
			res, err := (&http.Client{Transport: tr}).Get(url)
			if err != nil {
				errs <- err
				return
			}
			defer res.Body.Close()
			n, err := io.Copy(io.Discard, res.Body)
			if err != nil || n != size || res.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("GET: %d, %d bytes, %v", res.StatusCode, n, err)
			}
		})
	}
	wg.Wait()
	close(stop)
	<-done
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	growth := int64(peak) - int64(base.HeapInuse)
	t.Logf("%d concurrent downloads of %d MiB: heap in use %.1f MiB before, peak %.1f MiB (growth %.1f MiB); %s",
		clients, size>>20, mib(base.HeapInuse), mib(peak), float64(growth)/(1<<20), peakRSS())
	// Buffering whole files would need clients*size = 800 MiB.
	if growth > 64<<20 {
		t.Errorf("heap grew by %.1f MiB during the downloads", float64(growth)/(1<<20))
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// peakRSS returns the process's peak resident set (VmHWM) on Linux.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "peak RSS unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return "process peak RSS " + strings.Join(strings.Fields(strings.TrimPrefix(l, "VmHWM:")), " ")
		}
	}
	return "peak RSS unknown"
}
