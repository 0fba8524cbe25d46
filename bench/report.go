package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// ErrRegression is returned by check when a ratio fell below half of its
// recorded value.
var ErrRegression = errors.New("benchmark regression")

// row is one line of the result table. A missing figure is NaN.
type row struct {
	// Key names the row in baseline files; empty rows are not checked.
	Key       string
	Name      string
	Unit      string
	Thingo    float64
	Mosquitto float64
	// HigherBetter tells how to read the ratio (Thingo / mosquitto).
	HigherBetter bool
}

// ratio is Thingo / mosquitto, NaN when either is missing or mosquitto is 0.
func (r row) ratio() float64 {
	if math.IsNaN(r.Thingo) || math.IsNaN(r.Mosquitto) || r.Mosquitto == 0 {
		return math.NaN()
	}
	return r.Thingo / r.Mosquitto
}

func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// writeTable prints the rows as an aligned text table.
func writeTable(w io.Writer, rows []row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tunit\tThingo\tmosquitto\tThingo/mosquitto\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", r.Name, r.Unit, fmtNum(r.Thingo), fmtNum(r.Mosquitto), fmtRatio(r))
	}
	return tw.Flush()
}

func fmtRatio(r row) string {
	q := r.ratio()
	if math.IsNaN(q) {
		return "n/a"
	}
	dir := "lower is better"
	if r.HigherBetter {
		dir = "higher is better"
	}
	return fmt.Sprintf("%.2f (%s)", q, dir)
}

// writeMarkdown writes the result table as a Markdown table.
func writeMarkdown(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| scenario | unit | Thingo | mosquitto | Thingo/mosquitto |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.Name, r.Unit, fmtNum(r.Thingo), fmtNum(r.Mosquitto), fmtRatio(r))
	}
}

// machine describes the host: CPU count, model and memory.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		model = cpuModel(string(b))
	}
	mem := "unknown memory"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if f := strings.Fields(v); len(f) > 0 {
					if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
						mem = fmt.Sprintf("%.1f GiB RAM", float64(kb)/(1<<20))
					}
				}
			}
		}
	}
	return fmt.Sprintf("%d CPUs (nproc), %s, %s, %s/%s, %s", runtime.NumCPU(), model, mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// cpuModel returns the first "model name" of /proc/cpuinfo text.
func cpuModel(cpuinfo string) string {
	for _, line := range strings.Split(cpuinfo, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// baseline maps row keys to recorded Thingo/mosquitto ratios.
type baseline map[string]float64

func loadBaseline(path string) (baseline, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	var bl baseline
	if err := json.Unmarshal(b, &bl); err != nil {
		return nil, fmt.Errorf("baseline %s: %w", path, err)
	}
	return bl, nil
}

// record returns the ratios of the keyed rows.
func record(rows []row) baseline {
	bl := baseline{}
	for _, r := range rows {
		if q := r.ratio(); r.Key != "" && !math.IsNaN(q) {
			bl[r.Key] = math.Round(q*1000) / 1000
		}
	}
	return bl
}

// check fails when a keyed ratio is worse than its recorded value by more
// than a factor of two (below half for higher-is-better rows, above twice
// for lower-is-better rows), or when a recorded row has no figure.
func check(rows []row, bl baseline) error {
	var errs []error
	seen := map[string]bool{}
	for _, r := range rows {
		want, ok := bl[r.Key]
		if r.Key == "" || !ok {
			continue
		}
		seen[r.Key] = true
		q := r.ratio()
		switch {
		case math.IsNaN(q):
			errs = append(errs, fmt.Errorf("%w: %s: no figure", ErrRegression, r.Key))
		case r.HigherBetter && q < want/2:
			errs = append(errs, fmt.Errorf("%w: %s ratio %.3f < half of recorded %.3f", ErrRegression, r.Key, q, want))
		case !r.HigherBetter && q > want*2:
			errs = append(errs, fmt.Errorf("%w: %s ratio %.3f > twice recorded %.3f", ErrRegression, r.Key, q, want))
		}
	}
	for k := range bl {
		if !seen[k] {
			errs = append(errs, fmt.Errorf("%w: %s: not measured", ErrRegression, k))
		}
	}
	return errors.Join(errs...)
}
