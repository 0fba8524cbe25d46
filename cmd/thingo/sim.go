package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/thingo-iot/thingo/internal/sim"
	"github.com/thingo-iot/thingo/internal/thingmodel"
)

const simUsage = `Usage: thingo sim -model M.json [flags]

Simulates a fleet of devices of a thing model from this process: each device
reports random-walk property values at --rate, answers controls and actions
and posts events now and then. Devices come from --creds (a JSON array of
{"ProductId","DeviceName","DevicePsk"}) or are created through the management
API (--product, or a new product with the model when --product is empty).
Broker and API must be loopback addresses unless --allow-remote is given.

`

// simCmd runs `thingo sim`.
func simCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("thingo sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, simUsage); fs.PrintDefaults() }
	model := fs.String("model", "", "thing model JSON file (required)")
	n := fs.Int("devices", 10, "number of devices to create")
	creds := fs.String("creds", "", "read device credentials from this file instead of creating devices")
	saveCreds := fs.String("save-creds", "", "write the created devices' credentials to this file")
	product := fs.String("product", "", "product of the devices to create (default: create a product with the model)")
	prefix := fs.String("prefix", "sim", "device name prefix")
	broker := fs.String("broker", "tcp://127.0.0.1:1883", "MQTT broker URL (tcp:// or ws://)")
	rate := fs.Float64("rate", 1, "property reports per second per device")
	events := fs.Float64("events", 0.02, "probability that a report is followed by an event (0 disables)")
	duration := fs.Duration("duration", time.Minute, "run time (0: until interrupted or --count)")
	count := fs.Int64("count", 0, "stop after this many reports in total (0: no limit)")
	conc := fs.Int("concurrency", 64, "connection attempts in flight")
	spread := fs.Bool("spread-sources", false, "give each device its own 127.x.y.z source address (fleets past ~28k devices)")
	seed := fs.Uint64("seed", 0, "random seed (0: random)")
	remote := fs.Bool("allow-remote", false, "allow a non-loopback broker or API")
	data := fs.String("data", "./thingo-data", "data directory (for the admin API credential)")
	apiURL := fs.String("api", firstNonEmpty(getenv("THINGO_API_URL"), "http://127.0.0.1:8080"), "management API URL")
	if fs.Parse(args) != nil {
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "thingo sim: "+format+"\n", a...)
		return code
	}
	if *model == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if *rate <= 0 || *n <= 0 {
		return fail(2, "--rate and --devices must be > 0")
	}
	if !*remote {
		for _, u := range []string{*broker, *apiURL} {
			if err := checkLoopback(u); err != nil {
				return fail(2, "%v (use --allow-remote to simulate against a remote platform)", err)
			}
		}
	}
	schema, err := os.ReadFile(*model)
	if err != nil {
		return fail(1, "%v", err)
	}
	m, err := thingmodel.Parse(schema)
	if err != nil {
		return fail(1, "%s: %v", *model, err)
	}

	var devices []sim.Device
	if *creds != "" {
		if devices, err = sim.LoadDevices(*creds); err != nil {
			return fail(1, "%v", err)
		}
	} else {
		api, err := newAPIClient(*apiURL, *data, getenv)
		if err != nil {
			return fail(2, "%v", err)
		}
		pid := *product
		if pid == "" {
			if pid, err = sim.CreateProduct(ctx, api, fmt.Sprintf("sim%d", time.Now().Unix()), schema); err != nil {
				return fail(1, "%v", err)
			}
			fmt.Fprintf(stdout, "created product %s\n", pid)
		}
		if devices, err = sim.CreateDevices(ctx, api, pid, *prefix, *n, 16); err != nil {
			return fail(1, "%v", err)
		}
		fmt.Fprintf(stdout, "%d devices ready in product %s\n", len(devices), pid)
		if *saveCreds != "" {
			if err := sim.WriteDevices(*saveCreds, devices); err != nil {
				return fail(1, "%v", err)
			}
		}
	}

	eventChance := *events
	if eventChance <= 0 {
		eventChance = -1
	}
	live := isTerminal(stdout)
	s, err := sim.Run(ctx, sim.Config{
		Broker: *broker, Model: m, Devices: devices, Rate: *rate, EventChance: eventChance,
		Duration: *duration, Count: *count, Concurrency: *conc, Seed: *seed, SpreadSources: *spread,
	}, func(s sim.Stats) {
		if live {
			fmt.Fprintf(stdout, "\r\033[K%s", liveLine(s))
		} else {
			fmt.Fprintln(stdout, liveLine(s))
		}
	})
	if live {
		fmt.Fprintln(stdout)
	}
	if err != nil {
		return fail(1, "%v", err)
	}
	printSummary(stdout, s)
	if s.Errors > 0 || s.ConnectErrors > 0 {
		return 1
	}
	return 0
}

func liveLine(s sim.Stats) string {
	return fmt.Sprintf("%6.1fs  connected %d/%d  up %.0f/s  down %.0f/s  reply p50 %v p99 %v  errors %d",
		s.Elapsed.Seconds(), s.Connected, s.Devices, s.UpRate, s.DownRate,
		s.P50.Round(10*time.Microsecond), s.P99.Round(10*time.Microsecond), s.Errors+s.ConnectErrors)
}

func printSummary(w io.Writer, s sim.Stats) {
	fmt.Fprintf(w, "summary: %.1fs, %d/%d devices connected\n", s.Elapsed.Seconds(), s.ConnectedOnce, s.Devices)
	fmt.Fprintf(w, "  messages up %d (%.0f/s), down %d (%.0f/s)\n", s.Up, s.UpRate, s.Down, s.DownRate)
	fmt.Fprintf(w, "  reports %d, events %d, replies %d, controls %d, actions %d\n",
		s.Reports, s.Events, s.Replies, s.Controls, s.Actions)
	fmt.Fprintf(w, "  reply latency p50 %v, p99 %v\n", s.P50.Round(10*time.Microsecond), s.P99.Round(10*time.Microsecond))
	fmt.Fprintf(w, "  errors %d, connect errors %d\n", s.Errors, s.ConnectErrors)
	if msgs := s.UpRate + s.DownRate; s.CPU > 0 && msgs > 0 && s.Elapsed > 0 {
		cores := s.CPU.Seconds() / s.Elapsed.Seconds()
		fmt.Fprintf(w, "  simulator CPU %.2fs (%.0f%% of a core): %.1f%% of a core per 1k msgs/s\n",
			s.CPU.Seconds(), cores*100, cores*100/(msgs/1000))
	}
}

// checkLoopback returns an error unless rawURL's host is a loopback address.
func checkLoopback(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("bad URL %q: %w", rawURL, err)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s is not a loopback address", rawURL)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
