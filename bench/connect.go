package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/thingo-iot/thingo/internal/sim"
	"github.com/thingo-iot/thingo/protocol"
	"github.com/thingo-iot/thingo/sdk/pahoconn"
)

// creds are the MQTT CONNECT fields of one client.
type creds struct{ clientID, user, pass string }

// thingoCreds signs HMAC-SHA256 credentials for key devices.
func thingoCreds(ds []sim.Device) ([]creds, error) {
	out := make([]creds, len(ds))
	for i, d := range ds {
		id, u, p, err := protocol.DeviceCredentials(d.ProductID, d.DeviceName, d.DeviceSecret, "hmacsha256", time.Time{})
		if err != nil {
			return nil, fmt.Errorf("sign %s: %w", d.DeviceName, err)
		}
		out[i] = creds{id, u, p}
	}
	return out, nil
}

// anonCreds are n anonymous client ids.
func anonCreds(n int) []creds {
	out := make([]creds, n)
	for i := range out {
		out[i] = creds{clientID: fmt.Sprintf("bench%06d", i)}
	}
	return out
}

// sourceAddr is the loopback source address of client i: clients are
// spread over 127.0.0.0/8 so that a fleet is not capped by the ephemeral
// ports of one address.
func sourceAddr(i int) *net.TCPAddr {
	n := i + 1
	return &net.TCPAddr{IP: net.IPv4(127, byte(1+n>>16), byte(n>>8), byte(n))}
}

// fleet is a set of connected paho clients.
type fleet []mqtt.Client

func (f fleet) disconnect() {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 200)
	for _, c := range f {
		if c == nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c.Disconnect(0)
		})
	}
	wg.Wait()
}

// connectResult is the outcome of a connect storm.
type connectResult struct {
	ok, failed int
	elapsed    time.Duration
	firstErr   error
}

func (r connectResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ok) / r.elapsed.Seconds()
}

// connectStorm connects one paho client per credential to addr with at most
// conc connects in flight and returns the connected fleet.
func connectStorm(ctx context.Context, addr string, cs []creds, conc int) (fleet, connectResult) {
	f := make(fleet, len(cs))
	var failed atomic.Int64
	var errOnce sync.Once
	var res connectResult
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range cs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			failed.Add(1)
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(c.clientID).
				SetUsername(c.user).SetPassword(c.pass).SetAutoReconnect(false).
				SetConnectRetry(false).SetKeepAlive(240 * time.Second).SetConnectTimeout(30 * time.Second).
				SetCleanSession(true).SetDialer(&net.Dialer{LocalAddr: sourceAddr(i), Timeout: 30 * time.Second})
			cl := mqtt.NewClient(pahoconn.Use(o, nil))
			tok := cl.Connect()
			if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
				failed.Add(1)
				errOnce.Do(func() { res.firstErr = fmt.Errorf("connect %s: %v", c.clientID, tok.Error()) })
				return
			}
			f[i] = cl
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.failed = int(failed.Load())
	res.ok = len(cs) - res.failed
	return f, res
}

// idleMemory holds the fleet for hold and returns the server's RSS growth
// per connected client in KiB, measured against before.
func idleMemory(ctx context.Context, s *server, before int64, connected int, hold time.Duration) (float64, error) {
	select {
	case <-time.After(hold):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	after, err := s.rssKiB()
	if err != nil {
		return 0, err
	}
	if connected == 0 {
		return 0, fmt.Errorf("%s: no client connected", s.name)
	}
	return float64(after-before) / float64(connected), nil
}

// newDialer dials from the spread source address of client i.
func newDialer(i int) *net.Dialer {
	return &net.Dialer{LocalAddr: sourceAddr(i), Timeout: 30 * time.Second}
}
