package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/thingo-iot/thingo/internal/apiclient"
	"github.com/thingo-iot/thingo/internal/app"
	"github.com/thingo-iot/thingo/internal/config"
	"github.com/thingo-iot/thingo/internal/sim"
)

// BenchmarkReportPath runs a Thingo node in this process and sends b.N QoS 1
// property reports of the C SDK example model from 20 devices, each waiting
// for its report_reply. It exists to profile the report path:
//
//	go test ./bench -run '^$' -bench ReportPath -benchtime 20000x -cpuprofile cpu.out
//	go tool pprof -top bench.test cpu.out
//
// The profile holds the devices' SDK clients too; they are the sdk and paho
// frames.
func BenchmarkReportPath(b *testing.B) {
	const devices = 20
	addr, ds := startNode(b, devices)
	ctx := b.Context()
	cs, err := connectSDK(ctx, addr, ds, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer closeSDK(cs)

	var left atomic.Int64
	left.Store(int64(b.N))
	var failed atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			for step := 0; left.Add(-1) >= 0; step++ {
				if _, err := c.ReportProperties(ctx, reportParams(i, step)); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d reports failed", n)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}

// startNode runs a Thingo node in this process until the benchmark ends and
// creates n key devices of the C SDK example model.
func startNode(b *testing.B, n int) (string, []sim.Device) {
	b.Helper()
	env := map[string]string{}
	cfg, err := config.Load([]string{
		"--data", b.TempDir(), "--mqtt-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--mqtts-addr", "off", "--ws-addr", "off", "--wss-addr", "off",
		"--uplink-rate", "1000000", "--downlink-rate", "1000000",
	}, func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-a.Ready():
	case err := <-done:
		b.Fatalf("node stopped: %v", err)
	case <-time.After(30 * time.Second):
		b.Fatal("node not ready")
	}
	cred := a.AdminCredential()
	api := &apiclient.Client{URL: "http://" + a.HTTPAddr().String(), SecretID: cred.SecretID, SecretKey: cred.SecretKey}
	pid, err := sim.CreateProduct(ctx, api, "profile", cSDKModel)
	if err != nil {
		b.Fatal(err)
	}
	ds, err := sim.CreateDevices(ctx, api, pid, "p", n, 8)
	if err != nil {
		b.Fatal(err)
	}
	return a.MQTTAddr("tcp").String(), ds
}

// BenchmarkConnect connects b.N HMAC-signed key devices (50 in flight) to
// a node in this process, to profile the CONNECT path:
//
//	go test ./bench -run '^$' -bench Connect -benchtime 3000x -cpuprofile cpu.out
func BenchmarkConnect(b *testing.B) {
	addr, ds := startNode(b, b.N)
	cs, err := thingoCreds(ds)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	f, res := connectStorm(b.Context(), addr, cs, 50)
	b.StopTimer()
	f.disconnect()
	if res.failed > 0 {
		b.Fatalf("%d connects failed: %v", res.failed, res.firstErr)
	}
	b.ReportMetric(res.rate(), "connects/s")
}

// BenchmarkIdleMemory connects b.N key devices to a node in this process
// over raw TCP (a hand-encoded CONNECT, the CONNACK read, then nothing: no
// client goroutines) and reports the growth of the goroutine stacks and of
// the live heap per connection after a GC: the server's own cost of an idle
// device, to compare changes of the per-connection structures:
//
//	go test ./bench -run '^$' -bench IdleMemory -benchtime 2000x
func BenchmarkIdleMemory(b *testing.B) {
	addr, ds := startNode(b, b.N)
	cs, err := thingoCreds(ds)
	if err != nil {
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()
	b.ResetTimer()
	conns := make([]net.Conn, 0, len(cs))
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, c := range cs {
		conn, err := rawConnect(addr, c)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, conn)
	}
	b.StopTimer()
	// Two GCs: stacks shrink and the connect path's garbage is gone.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := float64(len(conns))
	b.ReportMetric(float64(int64(after.StackInuse)-int64(before.StackInuse))/n, "stack-B/conn")
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/n, "heap-B/conn")
	b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/n, "goroutines/conn")
}

// rawConnect sends an MQTT 3.1.1 CONNECT (clean session, keepalive 240 s)
// with c's credentials over a new TCP connection and checks the CONNACK.
func rawConnect(addr string, c creds) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	pk := packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Connect},
		ProtocolVersion: 4,
		Connect: packets.ConnectParams{
			ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 240, ClientIdentifier: c.clientID,
			UsernameFlag: true, Username: []byte(c.user), PasswordFlag: true, Password: []byte(c.pass),
		},
	}
	var buf bytes.Buffer
	if err := pk.ConnectEncode(&buf); err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	ack := make([]byte, 4)
	if _, err := conn.Write(buf.Bytes()); err != nil {
		conn.Close()
		return nil, err
	}
	if _, err := io.ReadFull(conn, ack); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connack of %s: %w", c.clientID, err)
	}
	if ack[0] != 0x20 || ack[3] != 0 {
		conn.Close()
		return nil, fmt.Errorf("connack of %s: % x", c.clientID, ack)
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, nil
}
