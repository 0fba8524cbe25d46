package sim

import (
	"math"
	"sync/atomic"
	"time"
)

// Latency buckets grow by 5%: bucket i holds durations up to
// latencyBase * latencyGrowth^i; a quantile is exact to within 5%.
const (
	latencyBase    = float64(10 * time.Microsecond)
	latencyGrowth  = 1.05
	latencyBuckets = 360 // up to about 7 minutes
)

// histogram is a lock-free latency histogram.
type histogram struct {
	counts [latencyBuckets]atomic.Int64
}

func bucketOf(d time.Duration) int {
	if float64(d) <= latencyBase {
		return 0
	}
	i := int(math.Ceil(math.Log(float64(d)/latencyBase) / math.Log(latencyGrowth)))
	return min(i, latencyBuckets-1)
}

func (h *histogram) observe(d time.Duration) { h.counts[bucketOf(d)].Add(1) }

// snapshot copies the counts.
func (h *histogram) snapshot() []int64 {
	out := make([]int64, latencyBuckets)
	for i := range out {
		out[i] = h.counts[i].Load()
	}
	return out
}

// quantile returns the upper bound of the bucket holding quantile q of counts
// (0 without observations).
func quantile(counts []int64, q float64) time.Duration {
	var total int64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			return time.Duration(latencyBase * math.Pow(latencyGrowth, float64(i)))
		}
	}
	return time.Duration(latencyBase * math.Pow(latencyGrowth, latencyBuckets-1))
}

// diff returns a - b element by element.
func diff(a, b []int64) []int64 {
	out := make([]int64, len(a))
	for i := range a {
		out[i] = a[i] - b[i]
	}
	return out
}
