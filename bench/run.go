package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/thingo-iot/thingo/internal/apiclient"
	"github.com/thingo-iot/thingo/internal/apikey"
	"github.com/thingo-iot/thingo/internal/sim"
)

// params scale the scenarios.
type params struct {
	quick       bool
	devices     int           // connect storm and idle memory
	concurrency int           // connects in flight
	hold        time.Duration // idle hold before RSS is read
	pubs        int           // publishing devices in the load scenarios
	duration    time.Duration // length of each load window
	rate        float64       // fixed total rate of the latency scenario
	controls    int           // ControlDeviceData calls under load
	reconnects  int           // reconnect storm: devices with persistent sessions (0: skipped)
	keep        bool          // keep the temporary directory
	profileDir  string        // write CPU/heap profiles of the Thingo process here ("": none)
	thingoBin   string        // run this thingo binary instead of building ./cmd/thingo ("": build)
}

// Limits keep a run bounded.
const (
	maxDevices  = 60000
	maxPubs     = 2000
	maxDuration = 60 * time.Second
	maxHold     = 5 * time.Minute
)

func parseFlags(args []string, stderr io.Writer) (options, params, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var p params
	fs.BoolVar(&p.quick, "quick", false, "CI scale: seconds, not minutes (changes the defaults below)")
	fs.IntVar(&p.devices, "devices", 10000, "connect storm and idle memory: clients (quick: 500)")
	fs.IntVar(&p.concurrency, "concurrency", 100, "connect storm: connects in flight")
	fs.DurationVar(&p.hold, "hold", 10*time.Second, "idle memory: hold before reading RSS (quick: 1s)")
	fs.IntVar(&p.pubs, "pubs", 100, "load scenarios: publishing clients (quick: 20)")
	fs.DurationVar(&p.duration, "duration", 10*time.Second, "load scenarios: window of each run (quick: 2s)")
	fs.Float64Var(&p.rate, "rate", 500, "latency scenario: fixed total messages per second (quick: 300)")
	fs.IntVar(&p.controls, "controls", 200, "control round trips under load (quick: 20)")
	fs.IntVar(&p.reconnects, "reconnects", 10000, "reconnect storm: devices with 10 queued QoS 1 messages each, all reconnecting at once (0 skips; quick: 0)")
	fs.BoolVar(&p.keep, "keep", false, "keep the temporary directory (logs, Thingo data)")
	fs.StringVar(&p.profileDir, "profile", "", "write CPU profiles of the Thingo process per scenario and a heap profile of the idle connections to this directory")
	fs.StringVar(&p.thingoBin, "thingo-bin", "", "run this thingo binary instead of building ./cmd/thingo (to compare two builds)")
	fs.StringVar(&o.out, "out", "", "update this Markdown file (e.g. docs/benchmarks.md) with the results")
	fs.StringVar(&o.checkPath, "check", "", "fail if a ratio is worse than half of the one recorded in this JSON file")
	fs.StringVar(&o.recordPath, "record", "", "write the measured ratios to this JSON file (a baseline for --check)")
	if err := fs.Parse(args); err != nil {
		return o, p, err
	}
	if fs.NArg() > 0 {
		return o, p, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if p.quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		def := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		def("devices", func() { p.devices = 500 })
		def("hold", func() { p.hold = time.Second })
		def("pubs", func() { p.pubs = 20 })
		def("duration", func() { p.duration = 2 * time.Second })
		def("rate", func() { p.rate = 300 })
		def("controls", func() { p.controls = 20 })
		def("reconnects", func() { p.reconnects = 0 })
	}
	switch {
	case p.devices < 1 || p.devices > maxDevices:
		return o, p, fmt.Errorf("--devices must be 1..%d", maxDevices)
	case p.concurrency < 1:
		return o, p, errors.New("--concurrency must be >= 1")
	case p.hold < 0 || p.hold > maxHold:
		return o, p, fmt.Errorf("--hold must be 0..%v", maxHold)
	case p.pubs < 1 || p.pubs > maxPubs:
		return o, p, fmt.Errorf("--pubs must be 1..%d", maxPubs)
	case p.duration <= 0 || p.duration > maxDuration:
		return o, p, fmt.Errorf("--duration must be > 0 and <= %v", maxDuration)
	case p.rate <= 0:
		return o, p, errors.New("--rate must be > 0")
	case p.controls < 1:
		return o, p, errors.New("--controls must be >= 1")
	case p.reconnects < 0 || p.reconnects > maxDevices:
		return o, p, fmt.Errorf("--reconnects must be 0..%d", maxDevices)
	}
	if p.thingoBin != "" {
		if st, err := os.Stat(p.thingoBin); err != nil {
			return o, p, fmt.Errorf("--thingo-bin: %w", err)
		} else if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
			return o, p, fmt.Errorf("--thingo-bin: %s is not an executable file", p.thingoBin)
		}
	}
	if err := checkFDLimit(max(p.devices, p.reconnects)); err != nil {
		return o, p, err
	}
	return o, p, nil
}

func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// runAll starts both servers and runs every scenario.
func runAll(ctx context.Context, p params, log io.Writer) ([]row, error) {
	dir, err := os.MkdirTemp("", "thingo-bench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	if p.keep {
		logf(log, "keeping %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	bin := p.thingoBin
	if bin == "" {
		logf(log, "building thingo")
		if bin, err = buildThingo(ctx, dir); err != nil {
			return nil, err
		}
	}
	logw, err := os.Create(filepath.Join(dir, "servers.log"))
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	defer logw.Close()
	var extra []string
	var prof *profiler
	if p.profileDir != "" {
		pp, err := freePort()
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(p.profileDir, 0o755); err != nil {
			return nil, fmt.Errorf("profile dir: %w", err)
		}
		extra = []string{"--pprof-addr", fmt.Sprintf("127.0.0.1:%d", pp)}
		prof = &profiler{base: fmt.Sprintf("http://127.0.0.1:%d/debug/pprof", pp), dir: p.profileDir, log: log}
	}
	th, err := startThingo(ctx, bin, dir, logw, extra...)
	if err != nil {
		return nil, err
	}
	defer th.stop()
	mq, err := startMosquitto(ctx, dir, logw)
	if err != nil {
		return nil, err
	}
	defer mq.stop()
	logf(log, "thingo on %s (pid %d), mosquitto on %s (pid %d)", th.addr, th.pid(), mq.addr, mq.pid())

	cred, _, err := apikey.Load(th.data)
	if err != nil {
		return nil, err
	}
	api := &apiclient.Client{URL: th.http, SecretID: cred.SecretID, SecretKey: cred.SecretKey}
	pid, err := sim.CreateProduct(ctx, api, fmt.Sprintf("bench%d", time.Now().Unix()%1e6), cSDKModel)
	if err != nil {
		return nil, err
	}
	logf(log, "creating %d devices", p.devices+p.pubs+1)
	devs, err := sim.CreateDevices(ctx, api, pid, "b", p.devices+p.pubs+1, 32)
	if err != nil {
		return nil, err
	}
	stormDevs, loadDevs, ctlDev := devs[:p.devices], devs[p.devices:p.devices+p.pubs], devs[p.devices+p.pubs]

	var rows []row
	// Connect storm and idle memory.
	tc, err := thingoCreds(stormDevs)
	if err != nil {
		return nil, err
	}
	storm := func(s *server, cs []creds) (connectResult, cpuSample, float64, error) {
		before, err := s.rssKiB()
		if err != nil {
			return connectResult{}, cpuSample{}, 0, err
		}
		logf(log, "%s: connect storm of %d clients", s.name, len(cs))
		wait := func() {}
		if s == th {
			wait = prof.cpu(ctx, "connect", 5*time.Second)
		}
		cpu0 := sampleCPU(s.pid())
		f, res := connectStorm(ctx, s.addr, cs, p.concurrency)
		cpu := sampleCPU(s.pid()).sub(cpu0)
		defer f.disconnect()
		wait()
		if res.failed > 0 {
			return res, cpu, 0, fmt.Errorf("%s: %d of %d connects failed: %w", s.name, res.failed, len(cs), res.firstErr)
		}
		kib, err := idleMemory(ctx, s, before, res.ok, p.hold)
		if s == th {
			prof.heap(ctx, "idle")
		}
		return res, cpu, kib, err
	}
	tRes, tCPU, tMem, err := storm(th, tc)
	if err != nil {
		return nil, err
	}
	mRes, mCPU, mMem, err := storm(mq, anonCreds(p.devices))
	if err != nil {
		return nil, err
	}
	rows = append(rows,
		row{Key: "connect", Name: fmt.Sprintf("connect storm, %d clients", p.devices), Unit: "connects/s",
			Thingo: tRes.rate(), Mosquitto: mRes.rate(), HigherBetter: true},
		row{Name: "connect storm: server CPU per connect", Unit: "µs",
			Thingo:    cpuPer(tCPU.server, tCPU.ok, int64(tRes.ok)),
			Mosquitto: cpuPer(mCPU.server, mCPU.ok, int64(mRes.ok))},
		row{Name: "connect storm: clients' CPU per connect", Unit: "µs",
			Thingo:    cpuPer(tCPU.self, tCPU.ok, int64(tRes.ok)),
			Mosquitto: cpuPer(mCPU.self, mCPU.ok, int64(mRes.ok))},
		row{Key: "idle_memory", Name: fmt.Sprintf("idle memory, %d connections", p.devices), Unit: "KiB/conn",
			Thingo: tMem, Mosquitto: mMem})

	// Load scenarios.
	logf(log, "thingo: connecting %d reporting devices and the control device", p.pubs)
	cs, err := connectSDK(ctx, th.addr, append(loadDevs[:len(loadDevs):len(loadDevs)], ctlDev), p.devices)
	if err != nil {
		return nil, err
	}
	defer closeSDK(cs)
	reporters, ctl := cs[:p.pubs], cs[p.pubs]

	logf(log, "thingo: report throughput, %d devices, %v", p.pubs, p.duration)
	wait := prof.cpu(ctx, "throughput", p.duration)
	tThr := thingoReports(ctx, reporters, p.duration, 0, th.pid())
	wait()
	logf(log, "mosquitto: forwarding throughput, %d publishers, %v", p.pubs, p.duration)
	mThr, err := mosquittoForward(ctx, mq.addr, p.pubs, p.duration, 0, mq.pid())
	if err != nil {
		return nil, err
	}
	rows = append(rows, row{Key: "throughput", Name: fmt.Sprintf("QoS1 throughput, %d clients", p.pubs), Unit: "msg/s",
		Thingo: tThr.rate(), Mosquitto: mThr.rate(), HigherBetter: true})
	rows = append(rows,
		row{Name: "throughput: server CPU per message", Unit: "µs",
			Thingo:    cpuPer(tThr.cpu.server, tThr.cpu.ok, tThr.msgs),
			Mosquitto: cpuPer(mThr.cpu.server, mThr.cpu.ok, mThr.msgs)},
		row{Name: "throughput: clients' CPU per message", Unit: "µs",
			Thingo:    cpuPer(tThr.cpu.self, tThr.cpu.ok, tThr.msgs),
			Mosquitto: cpuPer(mThr.cpu.self, mThr.cpu.ok, mThr.msgs)})

	logf(log, "thingo: latency at %.0f msg/s with %d control round trips", p.rate, p.controls)
	type ctlOut struct {
		res loadResult
		err error
	}
	ctlc := make(chan ctlOut, 1)
	loadCtx, stopLoad := context.WithCancel(ctx)
	go func() {
		// Let the fixed-rate load settle before the controls start.
		select {
		case <-time.After(min(p.duration/5, time.Second)):
		case <-loadCtx.Done():
		}
		r, err := controlRoundTrips(loadCtx, api, ctl, ctlDev, p.controls)
		ctlc <- ctlOut{r, err}
	}()
	wait = prof.cpu(ctx, "latency", p.duration)
	waitTrace := prof.trace(ctx, "latency", min(p.duration, 3*time.Second))
	tLat := thingoReports(ctx, reporters, p.duration, p.rate, th.pid())
	wait()
	waitTrace()
	stopLoad()
	co := <-ctlc
	if co.err != nil && !errors.Is(co.err, context.Canceled) {
		return nil, co.err
	}
	logf(log, "mosquitto: latency at %.0f msg/s", p.rate)
	mLat, err := mosquittoForward(ctx, mq.addr, p.pubs, p.duration, p.rate, mq.pid())
	if err != nil {
		return nil, err
	}
	nan := math.NaN()
	rows = append(rows,
		row{Name: fmt.Sprintf("fixed rate %.0f msg/s: achieved", p.rate), Unit: "msg/s",
			Thingo: tLat.rate(), Mosquitto: mLat.rate(), HigherBetter: true},
		row{Name: "fixed rate: latency p50", Unit: "ms", Thingo: ms(tLat.p50), Mosquitto: ms(mLat.p50)},
		row{Name: "fixed rate: latency p99", Unit: "ms", Thingo: ms(tLat.p99), Mosquitto: ms(mLat.p99)},
		row{Name: fmt.Sprintf("control round trip p50 (%d of %d, under load)", co.res.msgs, p.controls), Unit: "ms",
			Thingo: ms(co.res.p50), Mosquitto: nan},
		row{Name: "control round trip p99 under load", Unit: "ms", Thingo: ms(co.res.p99), Mosquitto: nan},
	)
	if errs := tThr.errors + tLat.errors + co.res.errors; errs > 0 {
		logf(log, "thingo: %d failed requests (timeouts or error replies)", errs)
	}
	if errs := mThr.errors + mLat.errors; errs > 0 {
		logf(log, "mosquitto: %d failed publishes", errs)
	}
	if p.reconnects > 0 {
		logf(log, "reconnect storm: %d devices x 10 queued messages", p.reconnects)
		rr, err := runReconnect(ctx, reconnectSetup{bin: bin, dir: dir, logw: logw, thingo: th, api: api, mosquitto: mq,
			devices: p.reconnects, perDevice: 10, concurrency: p.concurrency, deadline: 3 * time.Minute,
			fastPacing: time.Millisecond}, log)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rr...)
	}
	return rows, nil
}

// Markers delimit the generated part of the results document.
const (
	beginMarker = "<!-- bench:results:begin -->"
	endMarker   = "<!-- bench:results:end -->"
)

// updateDoc replaces the generated section of the Markdown file at path
// (between the markers; appended when missing) with this run's results.
func updateDoc(path string, rows []row, cmdline string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var b strings.Builder
	fmt.Fprintln(&b, beginMarker)
	fmt.Fprintf(&b, "Measured %s on: %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), machine())
	fmt.Fprintf(&b, "Command: `%s` (`make bench`).\n\n", cmdline)
	writeMarkdown(&b, rows)
	fmt.Fprintln(&b, endMarker)
	return os.WriteFile(path, []byte(spliceSection(string(old), b.String())), 0o644)
}

// spliceSection replaces the marked section of doc with section, or
// appends section when doc has no complete marked section.
func spliceSection(doc, section string) string {
	i := strings.Index(doc, beginMarker)
	j := strings.Index(doc, endMarker)
	if i < 0 || j < i {
		if doc != "" && !strings.HasSuffix(doc, "\n") {
			doc += "\n"
		}
		return doc + section
	}
	rest := doc[j+len(endMarker):]
	rest = strings.TrimPrefix(rest, "\n")
	return doc[:i] + section + rest
}
