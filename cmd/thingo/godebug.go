package main

import (
	"os"
	"strings"
	"syscall"
)

// serveGODEBUG is the runtime setting `thingo serve` runs with: new
// goroutines start with the minimum stack instead of the average stack size
// the runtime has seen (its default since Go 1.19). The platform runs two
// goroutines per device connection whose stacks settle at very different
// sizes (16 and 2 – 8 KiB), so the average overprovisions the small one
// and every short-lived goroutine. Measured in one bench run each
// (docs/benchmarks.md, 5 000 devices): 37.7 → 34.3 KiB per idle
// connection, and connects 3 – 13 % faster.
//
// The runtime reads this setting only at start-up and //go:debug does not
// accept it, so serve re-executes itself once with it in GODEBUG. A GODEBUG
// that already sets adaptivestackstart is left alone (the way to opt out:
// GODEBUG=adaptivestackstart=1).
const serveGODEBUG = "adaptivestackstart=0"

// tunedEnviron returns env with serveGODEBUG added to GODEBUG, and false
// when env already sets adaptivestackstart.
func tunedEnviron(env []string) ([]string, bool) {
	out := make([]string, 0, len(env)+1)
	found := false
	for _, kv := range env {
		v, ok := strings.CutPrefix(kv, "GODEBUG=")
		if !ok {
			out = append(out, kv)
			continue
		}
		for _, s := range strings.Split(v, ",") {
			if strings.HasPrefix(strings.TrimSpace(s), "adaptivestackstart=") {
				return env, false
			}
		}
		found = true
		if v == "" {
			out = append(out, "GODEBUG="+serveGODEBUG)
		} else {
			out = append(out, "GODEBUG="+v+","+serveGODEBUG)
		}
	}
	if !found {
		out = append(out, "GODEBUG="+serveGODEBUG)
	}
	return out, true
}

// reexecTuned replaces the process with itself under serveGODEBUG. It
// returns only when it did not: the setting is already there, or the
// executable cannot be found or executed (the platform then runs with the
// runtime's default, which only costs memory).
func reexecTuned() {
	env, ok := tunedEnviron(os.Environ())
	if !ok {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	_ = syscall.Exec(exe, os.Args, env)
}
