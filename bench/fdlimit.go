package main

import (
	"fmt"
	"syscall"
)

// fdHeadroom is what the bench and the servers need besides the clients'
// connections (listeners, log files, the API client, SQLite, NATS).
const fdHeadroom = 200

// checkFDLimit fails early, with the reason, when the processes cannot open
// enough file descriptors for fleet connections: the servers and this
// process each hold one per client, and neither can go past the hard
// RLIMIT_NOFILE this process inherited (Go raises the soft limit to it).
func checkFDLimit(fleet int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil // unknown: let the run find out
	}
	if need := uint64(fleet) + fdHeadroom; need > lim.Max {
		return fmt.Errorf("%d clients need about %d open files per process, but the hard limit here is %d (ulimit -Hn); raise it or lower --devices/--reconnects",
			fleet, need, lim.Max)
	}
	return nil
}
