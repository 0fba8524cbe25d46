// Command bench compares Thingo with mosquitto on this machine, in one run:
// it builds and starts the real thingo binary (embedded default: SQLite and
// embedded NATS, data in a temporary directory) and a mosquitto process
// with a generated configuration, both on loopback, runs the same
// scenarios against both where they compare and prints a table of figures
// and Thingo/mosquitto ratios. Absolute figures depend on the machine and
// its load; the ratios are what to compare across runs.
//
//	go run ./bench                                # full run, a few minutes
//	go run ./bench --out docs/benchmarks.md       # and record it
//	go run ./bench --quick --check bench/baseline-quick.json   # CI, seconds
//
// Scenarios: connect storm (HMAC-signed key devices vs anonymous clients),
// idle memory per connection (RSS growth / N, client source addresses
// spread over 127.0.0.0/8), report throughput (QoS 1 $thing property
// reports answered by report_reply, validated and persisted, vs QoS 1
// publish forwarded to a subscriber), latency at a fixed rate (report to
// reply vs publish to delivery), the ControlDeviceData round trip under
// that load (Thingo only) and the reconnect storm (persistent sessions with
// 10 queued QoS 1 messages per device, all reconnecting at once: time until
// every message arrived and the count lost; Thingo at its default and at
// 1 ms offline pacing).
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

//go:embed testdata/c_sdk_example_config.json
var cSDKModel []byte

// options are the command-line settings about output and checks.
type options struct {
	out        string
	checkPath  string
	recordPath string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, p, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rows, err := runAll(ctx, p, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	cmdline := "go run ./bench " + strings.Join(args, " ")
	fmt.Fprintf(stdout, "\n%s\n%s\n\n", machine(), strings.TrimSpace(cmdline))
	if err := writeTable(stdout, rows); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	if o.out != "" {
		if err := updateDoc(o.out, rows, strings.TrimSpace(cmdline)); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		fmt.Fprintln(stdout, "\nwrote", o.out)
	}
	if o.recordPath != "" {
		b, _ := json.MarshalIndent(record(rows), "", "  ")
		if err := os.WriteFile(o.recordPath, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		fmt.Fprintln(stdout, "recorded ratios in", o.recordPath)
	}
	if o.checkPath != "" {
		bl, err := loadBaseline(o.checkPath)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		if err := check(rows, bl); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		fmt.Fprintln(stdout, "no gross regression against", o.checkPath)
	}
	return 0
}
