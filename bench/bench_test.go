package main

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name string
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", ms(7), 0.99, 7 * time.Millisecond},
		{"median odd", ms(3, 1, 2), 0.5, 2 * time.Millisecond},
		{"p99 of 100", ms(seq(100)...), 0.99, 99 * time.Millisecond},
		{"p50 of 100", ms(seq(100)...), 0.5, 50 * time.Millisecond},
		{"max", ms(5, 9, 1), 1, 9 * time.Millisecond},
		{"min", ms(5, 9, 1), 0, 1 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h hist
			for _, d := range tt.in {
				h.observe(d)
			}
			if got := h.quantile(tt.q); got != tt.want {
				t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func TestParseRSS(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr bool
	}{
		{"ok", "Name:\tthingo\nVmPeak:\t 9 kB\nVmRSS:\t   51234 kB\nThreads: 9\n", 51234, false},
		{"missing", "Name:\tx\n", 0, true},
		{"empty value", "VmRSS:\n", 0, true},
		{"garbage", "VmRSS: lots kB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRSS(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseRSS = %d, %v; want %d, err %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCPUModel(t *testing.T) {
	tests := []struct{ in, want string }{
		{"processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: x\n", "AMD EPYC 7B13"},
		{"processor\t: 0\n", "unknown CPU"},
	}
	for _, tt := range tests {
		if got := cpuModel(tt.in); got != tt.want {
			t.Errorf("cpuModel(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheck(t *testing.T) {
	rows := func(connect, mem float64) []row {
		return []row{
			{Key: "connect", Thingo: connect, Mosquitto: 1, HigherBetter: true},
			{Key: "idle_memory", Thingo: mem, Mosquitto: 1},
			{Name: "unkeyed", Thingo: 1, Mosquitto: math.NaN()},
		}
	}
	bl := baseline{"connect": 0.8, "idle_memory": 10}
	tests := []struct {
		name    string
		rows    []row
		bl      baseline
		wantErr bool
	}{
		{"same", rows(0.8, 10), bl, false},
		{"noise", rows(0.5, 15), bl, false},
		{"better", rows(2, 1), bl, false},
		{"throughput halved", rows(0.39, 10), bl, true},
		{"memory doubled", rows(0.8, 21), bl, true},
		{"no figure", rows(math.NaN(), 10), bl, true},
		{"not measured", rows(0.8, 10), baseline{"latency": 1}, true},
		{"empty baseline", rows(0.01, 1000), baseline{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := check(tt.rows, tt.bl)
			if (err != nil) != tt.wantErr {
				t.Fatalf("check = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrRegression) {
				t.Errorf("error %v is not ErrRegression", err)
			}
		})
	}
}

func TestRecord(t *testing.T) {
	got := record([]row{
		{Key: "a", Thingo: 2, Mosquitto: 3},
		{Key: "b", Thingo: 1, Mosquitto: 0},
		{Thingo: 1, Mosquitto: 1},
	})
	if len(got) != 1 || got["a"] != 0.667 {
		t.Errorf("record = %v, want map[a:0.667]", got)
	}
}

func TestSpliceSection(t *testing.T) {
	const sec = beginMarker + "\nnew\n" + endMarker + "\n"
	tests := []struct{ name, doc, want string }{
		{"empty", "", sec},
		{"no markers", "# T\nintro", "# T\nintro\n" + sec},
		{"replace", "# T\n" + beginMarker + "\nold\n" + endMarker + "\n## After\n", "# T\n" + sec + "## After\n"},
		{"only begin", "# T\n" + beginMarker + "\n", "# T\n" + beginMarker + "\n" + sec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := spliceSection(tt.doc, sec); got != tt.want {
				t.Errorf("spliceSection:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		check   func(params) bool
	}{
		{"defaults", nil, false, func(p params) bool { return p.devices == 10000 && p.duration == 10*time.Second }},
		{"quick", []string{"--quick"}, false, func(p params) bool { return p.devices == 500 && p.rate == 300 }},
		{"quick keeps explicit", []string{"--quick", "--devices", "50"}, false, func(p params) bool { return p.devices == 50 && p.pubs == 20 }},
		{"too many devices", []string{"--devices", "1000000"}, true, nil},
		{"too long", []string{"--duration", "1h"}, true, nil},
		{"zero rate", []string{"--rate", "0"}, true, nil},
		{"stray argument", []string{"now"}, true, nil},
		{"unknown flag", []string{"--nope"}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, p, err := parseFlags(tt.args, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseFlags(%v) error %v, wantErr %v", tt.args, err, tt.wantErr)
			}
			if tt.check != nil && !tt.check(p) {
				t.Errorf("parseFlags(%v) = %+v", tt.args, p)
			}
		})
	}
}

func TestTables(t *testing.T) {
	rows := []row{
		{Name: "throughput", Unit: "msg/s", Thingo: 1500, Mosquitto: 3000, HigherBetter: true},
		{Name: "control p99", Unit: "ms", Thingo: 3.25, Mosquitto: math.NaN()},
	}
	var txt, md strings.Builder
	if err := writeTable(&txt, rows); err != nil {
		t.Fatal(err)
	}
	writeMarkdown(&md, rows)
	for _, want := range []string{"1500", "3000", "0.50 (higher is better)", "3.25", "n/a"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, txt.String())
		}
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	if got := strings.Count(md.String(), "\n"); got != 4 {
		t.Errorf("markdown has %d lines, want 4", got)
	}
}
