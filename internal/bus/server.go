package bus

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// startEmbedded starts an in-process nats-server with JetStream storing its
// state under dataDir. The server opens no network listener; clients reach
// it with nats.InProcessServer.
func startEmbedded(ctx context.Context, dataDir string, log *slog.Logger) (*server.Server, error) {
	opts := &server.Options{
		ServerName: "thingo",
		DontListen: true,
		JetStream:  true,
		StoreDir:   dataDir,
		NoSigs:     true,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("bus: new embedded nats server: %w", err)
	}
	srv.SetLoggerV2(&slogAdapter{log: log}, log.Enabled(ctx, slog.LevelDebug), false, false)
	srv.Start()

	wait := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	if !srv.ReadyForConnections(wait) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("bus: embedded nats server not ready after %s", wait)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("bus: embedded nats server started without JetStream (store dir %q)", dataDir)
	}
	return srv, nil
}

// slogAdapter routes nats-server logs to slog. The server's notices (startup
// banner, JetStream limits, ...) go to Debug so a default Thingo log stays
// quiet; warnings and errors keep their level.
type slogAdapter struct {
	log *slog.Logger
}

func (a *slogAdapter) Noticef(format string, v ...any) { a.emit(slog.LevelDebug, format, v) }
func (a *slogAdapter) Warnf(format string, v ...any)   { a.emit(slog.LevelWarn, format, v) }
func (a *slogAdapter) Fatalf(format string, v ...any)  { a.emit(slog.LevelError, format, v) }
func (a *slogAdapter) Errorf(format string, v ...any)  { a.emit(slog.LevelError, format, v) }
func (a *slogAdapter) Debugf(format string, v ...any)  { a.emit(slog.LevelDebug, format, v) }
func (a *slogAdapter) Tracef(format string, v ...any)  {}

func (a *slogAdapter) emit(level slog.Level, format string, v []any) {
	ctx := context.Background()
	if !a.log.Enabled(ctx, level) {
		return
	}
	a.log.Log(ctx, level, fmt.Sprintf(format, v...), "component", "nats")
}
