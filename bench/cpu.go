package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat (USER_HZ,
// 100 on Linux whatever the kernel's HZ).
const clockTick = 10 * time.Millisecond

// cpuSample is the CPU time (user + system) used so far by a server process
// and by this process, whose goroutines are the load generator's clients.
type cpuSample struct {
	server, self time.Duration
	ok           bool // both could be read
}

// sampleCPU reads the CPU time of process pid and of this process.
func sampleCPU(pid int) cpuSample {
	srv, err := processCPU(pid)
	if err != nil {
		return cpuSample{}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return cpuSample{}
	}
	self := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return cpuSample{server: srv, self: self, ok: true}
}

// sub returns the CPU used between b and s.
func (s cpuSample) sub(b cpuSample) cpuSample {
	return cpuSample{server: s.server - b.server, self: s.self - b.self, ok: s.ok && b.ok}
}

// processCPU is utime + stime of pid, from /proc/<pid>/stat.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU extracts utime + stime (fields 14 and 15) from the text of
// /proc/<pid>/stat. The command name (field 2) is in parentheses and may
// contain spaces and parentheses, so fields are counted after the last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc stat: no command name in %q", stat)
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat: %d fields after the command name, want >= 13", len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || utime < 0 || stime < 0 {
		return 0, fmt.Errorf("proc stat: utime %q, stime %q", f[11], f[12])
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// cpuPer is CPU time per message or per connect in microseconds, NaN when
// unknown.
func cpuPer(cpu time.Duration, ok bool, n int64) float64 {
	if !ok || n <= 0 {
		return math.NaN()
	}
	return float64(cpu.Microseconds()) / float64(n)
}
