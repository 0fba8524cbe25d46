package sim

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/thingo-iot/thingo/sdk"
)

// device runs simulated device i until ctx ends.
func (r *runner) device(ctx context.Context, i int) {
	d := r.cfg.Devices[i]
	m := r.cfg.Model
	rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(i)))
	var mu sync.Mutex // guards rng and w: handlers run on SDK goroutines
	w := newWalker(rng)

	sc := sdk.Config{
		ProductID: d.ProductID, DeviceName: d.DeviceName, DeviceSecret: d.DeviceSecret,
		Broker: r.cfg.Broker, CleanSession: true, Logger: r.cfg.Logger,
	}
	if r.cfg.SpreadSources {
		sc.Dialer = &net.Dialer{LocalAddr: sourceAddr(i), Timeout: 30 * time.Second}
	}
	c, err := sdk.New(sc)
	if err != nil {
		r.cfg.Logger.Warn("sim: device config", "device", d.DeviceName, "err", err)
		r.n.connErrs.Add(1)
		return
	}
	defer c.Close()
	c.OnControl(func(_ context.Context, params map[string]any) (int, string) {
		r.n.down.Add(1)
		r.n.controls.Add(1)
		mu.Lock()
		w.set(params)
		mu.Unlock()
		r.n.up.Add(1)
		return sdk.CodeOK, "ok"
	})
	for _, a := range m.Actions {
		c.OnAction(a.ID, func(_ context.Context, _ map[string]any) (int, string, map[string]any) {
			r.n.down.Add(1)
			r.n.actions.Add(1)
			mu.Lock()
			out := w.params(a.Output)
			mu.Unlock()
			r.n.up.Add(1)
			return sdk.CodeOK, "ok", out
		})
	}

	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	err = c.Connect(ctx)
	<-r.sem
	if err != nil {
		if ctx.Err() == nil || !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			r.cfg.Logger.Warn("sim: connect", "device", d.DeviceName, "err", err)
		}
		r.n.connErrs.Add(1)
		return
	}
	r.mu.Lock()
	r.clients[i] = c
	r.mu.Unlock()
	r.n.connected.Add(1)

	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	// A random phase spreads the fleet's reports over the interval.
	mu.Lock()
	phase := time.Duration(rng.Int64N(int64(interval) + 1))
	mu.Unlock()
	t := time.NewTimer(phase)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(interval)
		mu.Lock()
		values := w.step(m)
		var ev *eventDraw
		if len(m.Events) > 0 && rng.Float64() < r.cfg.EventChance {
			e := m.Events[rng.IntN(len(m.Events))]
			ev = &eventDraw{id: e.ID, typ: e.Type, params: w.params(e.Params)}
		}
		mu.Unlock()

		n := r.n.reports.Add(1)
		r.request(ctx, func(ctx context.Context) error {
			_, err := c.ReportProperties(ctx, values)
			return err
		})
		if r.cfg.Count > 0 && n >= r.cfg.Count {
			r.stop()
			return
		}
		if ev != nil {
			r.n.events.Add(1)
			r.request(ctx, func(ctx context.Context) error {
				_, err := c.PostEvent(ctx, ev.id, ev.typ, ev.params)
				return err
			})
		}
	}
}

type eventDraw struct {
	id, typ string
	params  map[string]any
}

// request sends one request and records its outcome.
func (r *runner) request(ctx context.Context, send func(context.Context) error) {
	r.n.up.Add(1)
	start := time.Now()
	err := send(ctx)
	var re *sdk.ReplyError
	switch {
	case err == nil:
		r.n.down.Add(1)
		r.n.replies.Add(1)
		r.n.lat.observe(time.Since(start))
	case errors.As(err, &re):
		r.n.down.Add(1)
		r.n.replies.Add(1)
		r.n.errs.Add(1)
		r.cfg.Logger.Warn("sim: error reply", "err", err)
	case ctx.Err() != nil:
		// The run ended while waiting: not the platform's fault.
	default:
		r.n.errs.Add(1)
		r.cfg.Logger.Warn("sim: request failed", "err", err)
	}
}
