package main

import (
	"slices"
	"sync"
	"time"
)

// maxSamples bounds the memory of a hist; later samples are dropped.
const maxSamples = 2_000_000

// hist collects latency samples; it is safe for concurrent use.
type hist struct {
	mu sync.Mutex
	s  []time.Duration
}

func (h *hist) observe(d time.Duration) {
	h.mu.Lock()
	if len(h.s) < maxSamples {
		h.s = append(h.s, d)
	}
	h.mu.Unlock()
}

// quantile returns the q-quantile (0..1) of the samples, nearest rank; 0
// without samples.
func (h *hist) quantile(q float64) time.Duration {
	h.mu.Lock()
	s := slices.Clone(h.s)
	h.mu.Unlock()
	return quantile(s, q)
}

func quantile(s []time.Duration, q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}
