package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/thingo-iot/thingo/internal/sim"
	"github.com/thingo-iot/thingo/sdk"
	"github.com/thingo-iot/thingo/sdk/pahoconn"
)

// loadResult is the outcome of a throughput or fixed-rate run.
type loadResult struct {
	msgs     int64 // messages completed (replied or forwarded)
	errors   int64
	elapsed  time.Duration
	p50, p99 time.Duration
	cpu      cpuSample // used by the server and by the clients over the window
}

func (r loadResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.msgs) / r.elapsed.Seconds()
}

// reportParams are the property values device i reports at step n; they
// are valid for the C SDK example model.
func reportParams(i, n int) map[string]any {
	return map[string]any{
		"power_switch": n % 2, "color": n % 3, "brightness": (i + n) % 101,
		"name":     "bench-" + strconv.Itoa(i),
		"position": map[string]any{"longitude": n%361 - 180, "latitude": i%181 - 90},
	}
}

// connectSDK connects one SDK client per device (clean sessions, spread
// source addresses).
func connectSDK(ctx context.Context, broker string, ds []sim.Device, offset int) ([]*sdk.Client, error) {
	cs := make([]*sdk.Client, len(ds))
	var wg sync.WaitGroup
	errs := make([]error, len(ds))
	sem := make(chan struct{}, 32)
	for i, d := range ds {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := sdk.New(sdk.Config{
				ProductID: d.ProductID, DeviceName: d.DeviceName, DeviceSecret: d.DeviceSecret,
				Broker: "tcp://" + broker, CleanSession: true, RequestTimeout: 30 * time.Second,
				Dialer: newDialer(offset + i),
			})
			if err == nil {
				err = c.Connect(ctx)
			}
			cs[i], errs[i] = c, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeSDK(cs)
		return nil, fmt.Errorf("connect devices: %w", err)
	}
	return cs, nil
}

func closeSDK(cs []*sdk.Client) {
	for _, c := range cs {
		if c != nil {
			_ = c.Close()
		}
	}
}

// pacer hands out send permits: as fast as possible when rate is 0, else
// at rate per second. Permits not taken in time pile up (up to a second's
// worth), so a stalled server shows as latency, not as a lower rate only.
func pacer(ctx context.Context, rate float64) <-chan time.Time {
	if rate <= 0 {
		return nil
	}
	ch := make(chan time.Time, max(int(rate), 1))
	go func() {
		defer close(ch)
		start := time.Now()
		var sent int64
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				due := int64(now.Sub(start).Seconds() * rate)
				for ; sent < due; sent++ {
					select {
					case ch <- now:
					default: // the backlog is full: drop the permit
					}
				}
			}
		}
	}()
	return ch
}

// thingoReports runs property reports from every client for d, each client
// waiting for its report_reply before the next report (closed loop at rate
// 0) or taking permits at a fixed total rate.
func thingoReports(ctx context.Context, cs []*sdk.Client, d time.Duration, rate float64, serverPID int) loadResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	permits := pacer(ctx, rate)
	var h hist
	var n, errs atomic.Int64
	var wg sync.WaitGroup
	cpu0 := sampleCPU(serverPID)
	start := time.Now()
	for i, c := range cs {
		wg.Go(func() {
			for step := 0; ; step++ {
				if permits != nil {
					if _, ok := <-permits; !ok {
						return
					}
				} else if ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				_, err := c.ReportProperties(ctx, reportParams(i, step))
				switch {
				case err == nil:
					n.Add(1)
					h.observe(time.Since(t0))
				case ctx.Err() != nil:
					return
				default:
					errs.Add(1)
				}
			}
		})
	}
	wg.Wait()
	el := min(time.Since(start), d)
	return loadResult{msgs: n.Load(), errors: errs.Load(), elapsed: el, p50: h.quantile(0.5), p99: h.quantile(0.99),
		cpu: sampleCPU(serverPID).sub(cpu0)}
}

// mosquittoForward runs QoS 1 publishes from every publisher (each waiting
// for its PUBACK before the next, or taking permits at a fixed rate) to
// one QoS 1 subscriber of bench/#, and counts what the subscriber receives;
// latency is publish to delivery (the send time travels in the payload).
func mosquittoForward(ctx context.Context, addr string, pubs int, d time.Duration, rate float64, serverPID int) (loadResult, error) {
	var h hist
	var got atomic.Int64
	payload := []byte(`{"method":"report","clientToken":"bench-0000000000","params":{"power_switch":1,"color":2,"brightness":42,"name":"bench-1","position":{"longitude":10,"latitude":20}}}`)
	sub := mqtt.NewClient(pahoconn.Use(mqtt.NewClientOptions().AddBroker("tcp://"+addr).SetClientID("bench-sub").
		SetCleanSession(true).SetAutoReconnect(false).SetOrderMatters(false), nil))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return loadResult{}, fmt.Errorf("subscriber connect: %v", tok.Error())
	}
	defer sub.Disconnect(0)
	if tok := sub.Subscribe("bench/#", 1, func(_ mqtt.Client, m mqtt.Message) {
		p := m.Payload()
		if len(p) >= 8 {
			h.observe(time.Duration(time.Now().UnixNano() - int64(binary.BigEndian.Uint64(p))))
		}
		got.Add(1)
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return loadResult{}, fmt.Errorf("subscribe: %v", tok.Error())
	}
	f, cr := connectStorm(ctx, addr, anonCreds(pubs), 32)
	defer f.disconnect()
	if cr.failed > 0 {
		return loadResult{}, fmt.Errorf("publishers: %w", cr.firstErr)
	}

	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	permits := pacer(ctx, rate)
	var errs atomic.Int64
	var wg sync.WaitGroup
	cpu0 := sampleCPU(serverPID)
	start := time.Now()
	got.Store(0)
	for i, c := range f {
		topic := "bench/" + strconv.Itoa(i)
		wg.Go(func() {
			buf := make([]byte, 8+len(payload))
			copy(buf[8:], payload)
			for {
				if permits != nil {
					if _, ok := <-permits; !ok {
						return
					}
				} else if ctx.Err() != nil {
					return
				}
				binary.BigEndian.PutUint64(buf, uint64(time.Now().UnixNano()))
				tok := c.Publish(topic, 1, false, append([]byte(nil), buf...))
				if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
					errs.Add(1)
				}
			}
		})
	}
	<-ctx.Done()
	el := time.Since(start)
	n := got.Load()
	cpu := sampleCPU(serverPID).sub(cpu0)
	wg.Wait()
	return loadResult{msgs: n, errors: errs.Load(), elapsed: el, p50: h.quantile(0.5), p99: h.quantile(0.99), cpu: cpu}, nil
}

// controlRoundTrips sends k ControlDeviceData calls to the device of c, one
// after the other, and measures the time from the API request to the
// device answering the control (its handler runs, then the SDK publishes
// control_reply).
func controlRoundTrips(ctx context.Context, api sim.APICaller, c *sdk.Client, dev sim.Device, k int) (loadResult, error) {
	got := make(chan struct{}, 1)
	c.OnControl(func(context.Context, map[string]any) (int, string) {
		select {
		case got <- struct{}{}:
		default:
		}
		return sdk.CodeOK, "ok"
	})
	var h hist
	var res loadResult
	start := time.Now()
	finish := func(r loadResult) loadResult {
		r.elapsed = time.Since(start)
		r.p50, r.p99 = h.quantile(0.5), h.quantile(0.99)
		return r
	}
	for i := range k {
		t0 := time.Now()
		data := fmt.Sprintf(`{"brightness":%d}`, i%101)
		var resp struct{ Result string }
		if err := api.Call(ctx, "ControlDeviceData", map[string]any{
			"ProductId": dev.ProductID, "DeviceName": dev.DeviceName, "Data": data,
		}, &resp); err != nil {
			if ctx.Err() != nil {
				return finish(res), nil
			}
			return res, fmt.Errorf("ControlDeviceData: %w", err)
		}
		select {
		case <-got:
			h.observe(time.Since(t0))
			res.msgs++
		case <-time.After(10 * time.Second):
			res.errors++
		case <-ctx.Done():
			// The load ended first: report the round trips made so far.
			return finish(res), nil
		}
	}
	return finish(res), nil
}
