package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// pprofServer serves net/http/pprof on a listener of its own (--pprof-addr),
// apart from the public HTTP listener. The zero value is off.
type pprofServer struct {
	ln atomic.Pointer[net.Listener] // set once the listener is bound
}

// pprofMux routes the profiler's endpoints. The handlers are registered on a
// mux of our own: importing net/http/pprof also registers them on
// http.DefaultServeMux, which Thingo never serves.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// start binds addr now (so that addr reports it before the node is ready)
// and serves on g until ctx ends, then shuts down within timeout. It does
// nothing when addr is empty. A failure to listen fails g, which stops the
// node with that error.
func (p *pprofServer) start(ctx context.Context, g *errgroup.Group, addr string, timeout time.Duration, log *slog.Logger) {
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		g.Go(func() error { return fmt.Errorf("pprof listener %s: %w", addr, err) })
		return
	}
	p.ln.Store(&ln)
	srv := &http.Server{
		Handler:           pprofMux(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("pprof serving", "addr", ln.Addr().String())
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("pprof: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			// A CPU profile or trace in progress holds its connection for
			// its whole duration; do not let it block the node's stop.
			_ = srv.Close()
			log.Warn("pprof shutdown", "err", err)
		}
		return nil
	})
}

// addr is the bound address, nil when off or not started.
func (p *pprofServer) addr() net.Addr {
	ln := p.ln.Load()
	if ln == nil {
		return nil
	}
	return (*ln).Addr()
}

// PprofAddr is the bound address of the profiler listener (--pprof-addr); it
// is nil when the profiler is off or before Ready is closed.
func (a *App) PprofAddr() net.Addr { return a.pprof.addr() }
