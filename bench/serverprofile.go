package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"
)

// profiler fetches CPU and heap profiles of the Thingo process from its
// --pprof-addr listener into a directory (--profile), one file per
// scenario, so that what limits a figure can be read from the run that
// measured it. A nil profiler does nothing.
type profiler struct {
	base string // http://127.0.0.1:port/debug/pprof
	dir  string
	log  io.Writer
}

// cpu starts a CPU profile of d seconds (rounded up) named name and returns
// a function that waits for it to be written. It profiles the bench process
// (the load generator: the device clients) over the same window, into
// name.clients.cpu.pprof: on a machine the clients share with the server,
// their cost is part of every figure. Errors are logged, not returned: a
// missing profile must not fail the measurement it accompanies.
func (p *profiler) cpu(ctx context.Context, name string, d time.Duration) (wait func()) {
	if p == nil {
		return func() {}
	}
	secs := int((d + time.Second - 1) / time.Second)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.fetch(ctx, fmt.Sprintf("%s/profile?seconds=%d", p.base, secs), name+".cpu.pprof", time.Duration(secs+30)*time.Second)
	}()
	self := p.selfCPU(name+".clients.cpu.pprof", time.Duration(secs)*time.Second)
	return func() {
		<-done
		self()
	}
}

// trace fetches an execution trace of the Thingo process of d (whole
// seconds, at least one) into name.trace, for `go tool trace` (its
// -pprof=sched and -pprof=syscall views show where a report waited), and
// returns a function that waits for it.
func (p *profiler) trace(ctx context.Context, name string, d time.Duration) (wait func()) {
	if p == nil {
		return func() {}
	}
	secs := max(int(d/time.Second), 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.fetch(ctx, fmt.Sprintf("%s/trace?seconds=%d", p.base, secs), name+".trace", time.Duration(secs+30)*time.Second)
	}()
	return func() { <-done }
}

// selfCPU profiles this process for d into file and returns a function
// that waits for the profile to be written.
func (p *profiler) selfCPU(file string, d time.Duration) (wait func()) {
	path := filepath.Join(p.dir, file)
	f, err := os.Create(path)
	if err != nil {
		logf(p.log, "profile %s: %v", file, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		logf(p.log, "profile %s: %v", file, err)
		return func() {}
	}
	done := make(chan struct{})
	time.AfterFunc(d, func() {
		defer close(done)
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			logf(p.log, "profile %s: %v", file, err)
			return
		}
		logf(p.log, "profile written: %s", path)
	})
	return func() { <-done }
}

// heap writes the heap profile now, its text form, which ends with the
// runtime's memory statistics (stacks, heap in use, released to the OS),
// and the goroutines grouped by stack.
func (p *profiler) heap(ctx context.Context, name string) {
	if p == nil {
		return
	}
	p.fetch(ctx, p.base+"/heap", name+".heap.pprof", 30*time.Second)
	p.fetch(ctx, p.base+"/heap?debug=1", name+".heap.txt", 30*time.Second)
	p.fetch(ctx, p.base+"/goroutine?debug=1", name+".goroutines.txt", 30*time.Second)
}

func (p *profiler) fetch(ctx context.Context, url, file string, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		path := filepath.Join(p.dir, file)
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, resp.Body); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		logf(p.log, "profile written: %s", path)
		return nil
	}()
	if err != nil {
		logf(p.log, "profile %s not written: %v", file, err)
	}
}
