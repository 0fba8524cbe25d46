package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/apiclient"
	"github.com/thingo-iot/thingo/internal/apikey"
	"github.com/thingo-iot/thingo/internal/app"
	"github.com/thingo-iot/thingo/internal/config"
)

func TestParseSeq(t *testing.T) {
	tests := []struct {
		in     string
		want   int
		wantOK bool
	}{
		{seqPayload(0), 0, true},
		{seqPayload(9), 9, true},
		{seqPayload(123456), 123456, true},
		{`{"seq":}`, 0, false},
		{`{"seq":-1}`, 0, false},
		{`{"seq":1 }`, 0, false},
		{`{"seq":1`, 0, false},
		{`{"seq":1234567890}`, 0, false},
		{`{"method":"control"}`, 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseSeq([]byte(tt.in))
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("parseSeq(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func FuzzParseSeq(f *testing.F) {
	f.Add(seqPayload(3))
	f.Add(`{"seq":00}`)
	f.Add(`{"seq":x}`)
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseSeq([]byte(s))
		if ok && (n < 0 || !strings.HasPrefix(s, `{"seq":`)) {
			t.Errorf("parseSeq(%q) = %d, true", s, n)
		}
		if ok {
			if back, ok2 := parseSeq([]byte(seqPayload(n))); !ok2 || back != n {
				t.Errorf("round trip of %d = %d, %v", n, back, ok2)
			}
		}
	})
}

func TestTally(t *testing.T) {
	tests := []struct {
		name               string
		devices, perDevice int
		recv               [][2]int // device, seq; seq -1 is a stray payload
		lost, dup, ooo     int
		done               bool
	}{
		{"in order", 2, 3, [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}, {0, 2}, {1, 2}}, 0, 0, 0, true},
		{"missing", 2, 3, [][2]int{{0, 0}, {0, 1}, {0, 2}, {1, 0}}, 2, 0, 0, false},
		{"duplicate", 1, 2, [][2]int{{0, 0}, {0, 0}, {0, 1}, {0, 1}}, 0, 2, 0, true},
		{"out of order", 1, 3, [][2]int{{0, 2}, {0, 0}, {0, 1}}, 0, 0, 2, true},
		{"stray", 1, 1, [][2]int{{0, -1}, {5, 0}}, 1, 0, 0, false},
		{"no devices", 0, 10, nil, 0, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			tl := newTally(tt.devices, tt.perDevice, start)
			for _, r := range tt.recv {
				p := []byte("junk")
				if r[1] >= 0 {
					p = []byte(seqPayload(r[1]))
				}
				tl.receive(r[0], p, start.Add(time.Second))
			}
			lost, dup, ooo := tl.counts()
			if lost != tt.lost || dup != tt.dup || ooo != tt.ooo {
				t.Errorf("counts = %d lost, %d dup, %d ooo; want %d, %d, %d", lost, dup, ooo, tt.lost, tt.dup, tt.ooo)
			}
			select {
			case <-tl.done:
				if !tt.done {
					t.Error("done, want pending")
				}
			default:
				if tt.done {
					t.Error("pending, want done")
				}
			}
			if len(tt.recv) > 0 && tt.done && time.Duration(tl.lastNanos.Load()) != time.Second {
				t.Errorf("last arrival %v, want 1s", time.Duration(tl.lastNanos.Load()))
			}
		})
	}
}

// startReconnectNode runs a Thingo node in this process until the test ends
// and returns its MQTT address and an API client.
func startReconnectNode(t testing.TB, pacing string) (string, *apiclient.Client) {
	t.Helper()
	env := map[string]string{}
	cfg, err := config.Load([]string{
		"--data", t.TempDir(), "--mqtt-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--mqtts-addr", "off", "--ws-addr", "off", "--wss-addr", "off",
		"--uplink-rate", "1000000", "--downlink-rate", "1000000", "--offline-pacing", pacing,
	}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatalf("node stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("node not ready")
	}
	cred := a.AdminCredential()
	api := &apiclient.Client{URL: "http://" + a.HTTPAddr().String(), SecretID: cred.SecretID, SecretKey: cred.SecretKey}
	return a.MQTTAddr("tcp").String(), api
}

// checkDrained fails the test when a message was lost or came out of order.
func checkDrained(t *testing.T, r reconnectResult) {
	t.Helper()
	t.Log(r)
	if r.connectFailed > 0 {
		t.Errorf("%d reconnects failed: %v", r.connectFailed, r.firstErr)
	}
	if !r.complete || r.lost > 0 {
		t.Errorf("lost %d messages (complete %v)", r.lost, r.complete)
	}
	if r.outOfOrder > 0 {
		t.Errorf("%d messages out of order", r.outOfOrder)
	}
}

func TestReconnectThingo(t *testing.T) {
	tests := []struct{ name, pacing string }{
		{"paced", "20ms"},
		{"fast", "1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, api := startReconnectNode(t, tt.pacing)
			r, err := thingoReconnect(t.Context(), addr, api, 20, 10, 10, time.Minute, t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			checkDrained(t, r)
		})
	}
}

func TestReconnectMosquitto(t *testing.T) {
	if _, err := exec.LookPath("mosquitto"); err != nil {
		if _, err := os.Stat("/usr/sbin/mosquitto"); err != nil {
			t.Skip("mosquitto not installed")
		}
	}
	dir := t.TempDir()
	logw, err := os.Create(filepath.Join(dir, "mosquitto.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logw.Close()
	mq, err := startMosquitto(t.Context(), dir, logw)
	if err != nil {
		t.Fatal(err)
	}
	defer mq.stop()
	r, err := mosquittoReconnect(t.Context(), mq.addr, 20, 10, 10, time.Minute, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	checkDrained(t, r)
}

// TestReconnectAtScale runs the whole reconnect scenario (thingo binary at
// default pacing and at --offline-pacing 1ms, mosquitto) with the number of
// devices in THINGO_BENCH_RECONNECT and prints the rows; it is skipped
// without it. THINGO_BENCH_KEEP=1 keeps the directory with the servers' log:
//
//	THINGO_BENCH_RECONNECT=10000 go test ./bench -run ReconnectAtScale -v -timeout 60m
func TestReconnectAtScale(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("THINGO_BENCH_RECONNECT"))
	if err != nil || n <= 0 {
		t.Skip("set THINGO_BENCH_RECONNECT=<devices> to run")
	}
	ctx := t.Context()
	dir := t.TempDir()
	if os.Getenv("THINGO_BENCH_KEEP") != "" {
		if dir, err = os.MkdirTemp("", "thingo-reconnect-"); err != nil {
			t.Fatal(err)
		}
		t.Logf("keeping %s (servers.log, data)", dir)
	}
	bin := filepath.Join(dir, "thingo")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "../cmd/thingo")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatal(err)
	}
	logw, err := os.Create(filepath.Join(dir, "servers.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logw.Close()
	th, err := startThingo(ctx, bin, dir, logw)
	if err != nil {
		t.Fatal(err)
	}
	defer th.stop()
	mq, err := startMosquitto(ctx, dir, logw)
	if err != nil {
		t.Fatal(err)
	}
	defer mq.stop()
	cred, _, err := apikey.Load(th.data)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := runReconnect(ctx, reconnectSetup{
		bin: bin, dir: dir, logw: logw, thingo: th, mosquitto: mq,
		api:     &apiclient.Client{URL: th.http, SecretID: cred.SecretID, SecretKey: cred.SecretKey},
		devices: n, perDevice: 10, concurrency: 100, deadline: 3 * time.Minute, fastPacing: time.Millisecond,
	}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := writeTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s\n%s", machine(), b.String())
}
