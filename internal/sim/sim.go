// Package sim simulates a fleet of devices of one thing model: every device
// is an sdk.Client connected from this process; it reports random-walk
// property values at a fixed rate, answers controls and actions, and posts
// events now and then, while Run collects throughput, reply latency and
// error figures.
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/thingo-iot/thingo/internal/thingmodel"
	"github.com/thingo-iot/thingo/sdk"
)

// ErrInvalidConfig is wrapped by Run's configuration errors.
var ErrInvalidConfig = errors.New("sim: invalid config")

// Device is the credential of one simulated key device; a credentials file
// is a JSON array of them.
type Device struct {
	ProductID    string `json:"ProductId"`
	DeviceName   string `json:"DeviceName"`
	DeviceSecret string `json:"DevicePsk"`
}

// Config configures a simulation.
type Config struct {
	// Broker is the MQTT URL (tcp://127.0.0.1:1883, ws://...).
	Broker string
	// Model is the thing model the devices implement.
	Model *thingmodel.Model
	// Devices are the simulated devices.
	Devices []Device
	// Rate is the number of property reports per second per device.
	Rate float64
	// EventChance is the probability that a report is followed by an event
	// (default 0.02; negative disables events).
	EventChance float64
	// Duration bounds the run (0: until ctx ends or Count is reached).
	Duration time.Duration
	// Count stops the run after this many property reports in total (0: no limit).
	Count int64
	// Concurrency bounds the connection attempts in flight (default 64).
	Concurrency int
	// Seed makes the values reproducible (0: random).
	Seed uint64
	// Interval is the period of the tick callback (default 1 s).
	Interval time.Duration
	// Logger receives the SDK clients' logs (default: discarded).
	Logger *slog.Logger
	// SpreadSources gives device i its own loopback source address
	// 127.(1+i/65536).(i/256%256).(i%256), so a fleet is not capped by one
	// address's ephemeral ports (tcp:// and ssl:// brokers on loopback).
	SpreadSources bool
}

// sourceAddr is the loopback source address of device i with SpreadSources.
func sourceAddr(i int) *net.TCPAddr {
	n := i + 1
	return &net.TCPAddr{IP: net.IPv4(127, byte(1+n>>16), byte(n>>8), byte(n))}
}

// Stats are the figures of a run, cumulative since its start; the rates
// and quantiles cover the last interval in tick callbacks and the whole run
// in the summary Run returns.
type Stats struct {
	Elapsed time.Duration
	Devices int
	// Connected is the number of devices connected now; ConnectedOnce
	// the number that connected at least once.
	Connected     int
	ConnectedOnce int64
	// Up and Down count MQTT messages: reports, events and replies sent;
	// replies, controls and actions received.
	Up, Down         int64
	UpRate, DownRate float64 // messages per second
	Reports, Events  int64
	Controls         int64
	Actions          int64
	Replies          int64 // replies received to reports and events
	P50, P99         time.Duration
	// Errors counts failed requests (timeouts, error replies);
	// ConnectErrors counts devices that never connected.
	Errors, ConnectErrors int64
	// CPU is the process CPU time (user+system) used during the run (0 when
	// unknown). In `thingo sim` the process is the simulator alone.
	CPU time.Duration
}

type counters struct {
	up, down, reports, events, controls, actions, replies, errs, connErrs, connected atomic.Int64
	lat                                                                              histogram
}

func (c *counters) stats() Stats {
	return Stats{
		Up: c.up.Load(), Down: c.down.Load(), Reports: c.reports.Load(), Events: c.events.Load(),
		Controls: c.controls.Load(), Actions: c.actions.Load(), Replies: c.replies.Load(),
		Errors: c.errs.Load(), ConnectErrors: c.connErrs.Load(), ConnectedOnce: c.connected.Load(),
	}
}

func (cfg *Config) check() error {
	switch {
	case cfg.Model == nil:
		return fmt.Errorf("%w: no thing model", ErrInvalidConfig)
	case len(cfg.Devices) == 0:
		return fmt.Errorf("%w: no devices", ErrInvalidConfig)
	case cfg.Rate <= 0:
		return fmt.Errorf("%w: rate must be > 0", ErrInvalidConfig)
	case cfg.Broker == "":
		return fmt.Errorf("%w: no broker", ErrInvalidConfig)
	}
	if cfg.EventChance == 0 {
		cfg.EventChance = 0.02
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Run simulates the fleet until ctx ends, cfg.Duration passes or cfg.Count
// reports were sent, calling tick (if not nil) every cfg.Interval with the
// live figures. It returns the summary of the whole run.
func Run(ctx context.Context, cfg Config, tick func(Stats)) (Stats, error) {
	if err := cfg.check(); err != nil {
		return Stats{}, err
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()

	r := &runner{cfg: cfg, stop: stop, sem: make(chan struct{}, cfg.Concurrency)}
	cpu0, cpuOK := processCPU()
	start := time.Now()
	r.clients = make([]*sdk.Client, len(cfg.Devices))
	var wg sync.WaitGroup
	for i := range cfg.Devices {
		wg.Go(func() { r.device(ctx, i) })
	}

	ticker := time.NewTicker(cfg.Interval)
	defer ticker.Stop()
	prev, prevLat, prevAt := Stats{}, make([]int64, latencyBuckets), start
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
loop:
	for {
		select {
		case <-done:
			break loop
		case now := <-ticker.C:
			if tick == nil {
				continue
			}
			s, lat := r.snapshot(now.Sub(start))
			rate(&s, prev, diff(lat, prevLat), now.Sub(prevAt))
			tick(s)
			prev, prevLat, prevAt = s, lat, now
		}
	}
	s, lat := r.snapshot(time.Since(start))
	rate(&s, Stats{}, lat, s.Elapsed)
	if cpu1, ok := processCPU(); ok && cpuOK {
		s.CPU = cpu1 - cpu0
	}
	return s, nil
}

func rate(s *Stats, prev Stats, lat []int64, d time.Duration) {
	if secs := d.Seconds(); secs > 0 {
		s.UpRate = float64(s.Up-prev.Up) / secs
		s.DownRate = float64(s.Down-prev.Down) / secs
	}
	s.P50, s.P99 = quantile(lat, 0.50), quantile(lat, 0.99)
}

type runner struct {
	cfg     Config
	stop    context.CancelFunc
	sem     chan struct{}
	n       counters
	mu      sync.Mutex
	clients []*sdk.Client
}

func (r *runner) snapshot(elapsed time.Duration) (Stats, []int64) {
	s := r.n.stats()
	s.Elapsed, s.Devices = elapsed, len(r.cfg.Devices)
	r.mu.Lock()
	for _, c := range r.clients {
		if c != nil && c.IsConnected() {
			s.Connected++
		}
	}
	r.mu.Unlock()
	return s, r.n.lat.snapshot()
}
