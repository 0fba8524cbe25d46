// Package app is Thingo's composition root: it picks the concrete store
// (SQLite or PostgreSQL), bus (embedded or external NATS) and certificate
// authority, wires them into the registry, device access and management API,
// and runs them until the context ends.
package app

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/thingo-iot/thingo/internal/api"
	"github.com/thingo-iot/thingo/internal/apikey"
	"github.com/thingo-iot/thingo/internal/broker"
	"github.com/thingo-iot/thingo/internal/bus"
	"github.com/thingo-iot/thingo/internal/commlog"
	"github.com/thingo-iot/thingo/internal/config"
	"github.com/thingo-iot/thingo/internal/console"
	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/devicelog"
	"github.com/thingo-iot/thingo/internal/pki"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/secretbox"
	"github.com/thingo-iot/thingo/internal/store/postgres"
	"github.com/thingo-iot/thingo/internal/store/sqlite"
)

// CAFile is where the CA certificate devices must trust is kept in a data
// directory (unless --ca-cert names another file).
func CAFile(dataDir string) string { return filepath.Join(dataDir, "pki", pki.CAFile) }

// App is a configured Thingo node.
type App struct {
	cfg config.Config
	log *slog.Logger

	store    registry.Store
	bus      *bus.Bus
	reg      *registry.Service
	pki      *pki.Authority
	broker   *broker.Broker
	presence *presence
	cluster  *cluster // nil on a single node
	things   *devicedata.Service
	devlogs  *devicelog.Service
	traffic  *commlog.Log // the console's live conversation log
	ota      *otaParts
	http     *http.Server
	httpLn   net.Listener
	pprof    pprofServer // --pprof-addr; off when zero
	cred     apikey.Credential

	ready chan struct{}
}

// New opens every backend and builds the node. On error, whatever was opened
// is closed again.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (a *App, err error) {
	start := time.Now()
	a = &App{cfg: cfg, log: log, ready: make(chan struct{})}
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				_ = closers[i]()
			}
		}
	}()

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if a.cred, err = adminCredential(cfg, log); err != nil {
		return nil, err
	}
	key, err := secretbox.LoadOrCreateKey(cfg.SecretKeyFile)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	box, err := secretbox.New(key)
	if err != nil {
		return nil, fmt.Errorf("secret key %s: %w", cfg.SecretKeyFile, err)
	}

	if cfg.DatabaseURL == "" {
		s, err := sqlite.Open(ctx, cfg.SQLitePath())
		if err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		a.store = s
	} else {
		s, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		a.store = s
	}
	closers = append(closers, a.store.Close)

	a.pki, err = pki.LoadOrCreate(filepath.Join(cfg.DataDir, "pki"), pki.Options{
		CACertFile: cfg.CACert, CAKeyFile: cfg.CAKey, CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey,
		Hosts: publicHosts(cfg.PublicURL),
	})
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	// Device authentication data is cached for the CONNECT path; the
	// registry's store forgets a device's entry when it changes.
	authSrc := &deviceSource{}
	authCache := devauth.NewCache(authSrc, devauth.CacheConfig{})
	a.reg = registry.NewService(newAuthStore(a.store, authCache, devauth.DefaultCacheTTL), box, a.pki, time.Now)
	authSrc.reg = a.reg

	nodeID, err := clusterNodeID(cfg)
	if err != nil {
		return nil, err
	}
	a.bus, err = bus.Open(ctx, bus.Options{
		DataDir: filepath.Join(cfg.DataDir, "nats"), URL: cfg.NATSURL, Node: nodeID, Replicas: cfg.NATSReplicas,
		OfflineLimit: cfg.OfflineLimit, OfflineMaxAge: cfg.OfflineMaxAge, Logger: log.With("component", "bus"),
	})
	if err != nil {
		return nil, fmt.Errorf("bus: %w", err)
	}
	closers = append(closers, a.bus.Close)
	if nodeID != "" {
		a.cluster, err = newCluster(ctx, nodeID, a.bus, log.With("component", "cluster", "node", nodeID))
		if err != nil {
			return nil, err
		}
	}

	if cfg.NATSURL == "" {
		// A single node: none of the connections recorded as online survived
		// the last stop.
		if err := a.reg.ResetPresence(ctx); err != nil {
			return nil, fmt.Errorf("reset presence: %w", err)
		}
	}

	a.presence = newPresence(a.reg, a.bus.Presence(), log.With("component", "presence"))
	things, uplinks, pub, err := newThings(a.store, a.reg, a.bus, log)
	if err != nil {
		return nil, fmt.Errorf("device data: %w", err)
	}
	a.things = things
	protos, err := newProtocols(a.store, a.reg, things, pub, key, log)
	if err != nil {
		return nil, fmt.Errorf("protocols: %w", err)
	}
	if a.cluster != nil {
		if err := a.cluster.relayCalls(things, protos.rrpc); err != nil {
			return nil, err
		}
	}
	if a.ota, err = newOTA(ctx, cfg, a.store, a.reg, func() *broker.Broker { return a.broker }, func() string { return a.cfg.PublicURL }, log); err != nil {
		return nil, fmt.Errorf("ota: %w", err)
	}
	closers = append(closers, a.ota.close)
	gws, err := newGateways(a.store, a.reg, pub, a.cluster, log)
	if err != nil {
		return nil, fmt.Errorf("gateways: %w", err)
	}
	auth := devauth.NewAuthenticator(devauth.Config{Source: authCache, Logger: log.With("component", "devauth")})
	a.traffic = commlog.New(commlog.Options{})
	tap := newTraffic(a.traffic)
	a.broker, err = broker.New(broker.Options{
		TCPAddr: cfg.MQTTAddr, TLSAddr: cfg.MQTTSAddr, WSAddr: cfg.WSAddr, WSSAddr: cfg.WSSAddr,
		TLSConfig:     a.pki.TLSConfig(),
		MaxPayload:    cfg.MaxPayload,
		UplinkRate:    int(cfg.UplinkRate),
		MaxKeepAlive:  cfg.MaxKeepalive,
		SessionExpiry: cfg.SessionExpiry,
		OfflinePacing: cfg.OfflinePacing,
		Logger:        log.With("component", "broker"),
	}, broker.Deps{
		Authenticator: gws.auth(auth),
		Handler:       gws.uplinks(a.ota.uplinks(protos.uplinks(uplinks))),
		Observer:      tap.observer(gws.observer(a.presence)),
		Queue:         a.bus.OfflineQueue(),
		Sessions:      a.bus.Sessions(),
		PSKKeys:       pskKeys{a.reg},
		Proxies:       gws.svc,
		Tap:           tap,
		Cluster:       a.brokerCluster(),
	})
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	pub.b = a.broker

	if cfg.HTTPAddr != "" {
		a.httpLn, err = net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return nil, fmt.Errorf("http listener %s: %w", cfg.HTTPAddr, err)
		}
		closers = append(closers, a.httpLn.Close)
		if a.cfg.PublicURL == "" {
			a.cfg.PublicURL = "http://" + a.httpLn.Addr().String()
		}
	}
	if a.devlogs, err = newDeviceLogs(a.store, log); err != nil {
		return nil, fmt.Errorf("device logs: %w", err)
	}
	apiHandler, err := api.NewHandler(api.Config{
		Registry:  a.reg,
		Keys:      keyStore{a.cred},
		Sessions:  sessions{a.broker},
		Things:    a.things,
		Protocols: protos.api(),
		Logger:    log.With("component", "api"),

		DeviceLogs: a.devlogs,
		OTA:        a.ota.service,
		Gateways:   gws.svc,
	})
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.Handle("/", apiHandler)
	consoleLogins, err := newConsoleSessions(ctx, a.bus)
	if err != nil {
		return nil, err
	}
	consoleSrv, err := console.New(console.Config{
		Actions:    apiHandler,
		Sessions:   consoleLogins,
		SessionTTL: consoleSessionTTL,
		CheckLogin: func(id, key string) bool {
			return subtle.ConstantTimeCompare([]byte(id), []byte(a.cred.SecretID)) == 1 &&
				subtle.ConstantTimeCompare([]byte(key), []byte(a.cred.SecretKey)) == 1
		},
		MQTTHost: mqttHost(a.broker.Addr("tcp")),
		Traffic:  a.traffic,
		Logger:   log.With("component", "console"),
	})
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	mux.Handle(console.Prefix, consoleSrv)
	mux.Handle("GET /console", consoleSrv)
	a.ota.register(mux)
	mountDeviceHTTP(mux, a.reg, protos.uplinks(uplinks), a.devlogs, log)
	a.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	a.http.RegisterOnShutdown(consoleSrv.Close)
	log.Info("thingo configured", "data", cfg.DataDir, "store", storeKind(cfg), "bus", busKind(cfg),
		"setup", time.Since(start).Round(time.Millisecond))
	return a, nil
}

// Run serves until ctx ends, then shuts down gracefully: listeners stop
// accepting, sessions are persisted, the bus and the store are flushed.
func (a *App) Run(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopThings := runThings(ctx, a.things)
	g, gctx := errgroup.WithContext(runCtx)
	a.pprof.start(gctx, g, a.cfg.PprofAddr, a.cfg.ShutdownTimeout, a.log.With("component", "pprof"))
	g.Go(func() error { return a.broker.Run(gctx) })
	g.Go(func() error { a.presence.run(gctx); return nil })
	if a.cluster != nil {
		g.Go(func() error { return a.cluster.run(gctx, a.broker) })
	}
	g.Go(func() error { a.devlogs.Run(gctx); return nil })
	g.Go(func() error { a.ota.run(gctx, a.cluster); return nil })
	if a.httpLn != nil {
		g.Go(func() error {
			if err := a.http.Serve(a.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("http: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
			defer cancel()
			return a.http.Shutdown(sctx)
		})
	}
	g.Go(func() error {
		select {
		case <-a.broker.Ready():
		case <-gctx.Done():
			return nil
		}
		close(a.ready)
		attrs := []any{"http", a.addrString(a.httpLn), "public_url", a.cfg.PublicURL}
		for _, n := range []string{"tcp", "tls", "ws", "wss"} {
			if ad := a.broker.Addr(n); ad != nil {
				attrs = append(attrs, "mqtt_"+n, ad.String())
			}
		}
		a.log.Info("thingo serving", attrs...)
		return nil
	})
	err := g.Wait()
	a.log.Info("thingo stopping")
	stopThings()
	a.presence.flush()
	if cerr := a.ota.close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close files: %w", cerr))
	}
	if cerr := a.bus.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close bus: %w", cerr))
	}
	if cerr := a.store.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close store: %w", cerr))
	}
	a.log.Info("thingo stopped")
	return err
}

// Ready is closed once every listener serves.
func (a *App) Ready() <-chan struct{} { return a.ready }

// HTTPAddr is the bound address of the HTTP listener (nil when off).
func (a *App) HTTPAddr() net.Addr {
	if a.httpLn == nil {
		return nil
	}
	return a.httpLn.Addr()
}

// MQTTAddr is the bound address of an MQTT listener: "tcp", "tls", "ws" or
// "wss" (nil when off).
func (a *App) MQTTAddr(name string) net.Addr { return a.broker.Addr(name) }

// AdminCredential is the management API credential in use.
func (a *App) AdminCredential() apikey.Credential { return a.cred }

// CAPEM is the CA certificate devices must trust.
func (a *App) CAPEM() []byte { return a.pki.CAPEM() }

// Traffic is the live conversation log of devices the console shows.
func (a *App) Traffic() *commlog.Log { return a.traffic }

func (a *App) healthz(w http.ResponseWriter, _ *http.Request) {
	select {
	case <-a.ready:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	default:
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}
}

func (a *App) addrString(l net.Listener) string {
	if l == nil {
		return "off"
	}
	return l.Addr().String()
}

// adminCredential takes the credential from the environment or from the data
// directory, creating it on first start. Only the path is logged.
func adminCredential(cfg config.Config, log *slog.Logger) (apikey.Credential, error) {
	if cfg.AdminSecretID != "" {
		return apikey.Credential{SecretID: cfg.AdminSecretID, SecretKey: cfg.AdminSecretKey}, nil
	}
	c, path, created, err := apikey.LoadOrCreate(cfg.DataDir)
	if err != nil {
		return apikey.Credential{}, fmt.Errorf("admin credential: %w", err)
	}
	if created {
		log.Info("created the admin API credential; print it with `thingo admin credentials`", "path", path)
	} else {
		log.Info("admin API credential", "path", path)
	}
	return c, nil
}

func publicHosts(publicURL string) []string {
	if publicURL == "" {
		return nil
	}
	rest := publicURL[strings.Index(publicURL, "://")+3:]
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return []string{strings.Trim(host, "[]")}
}

func storeKind(cfg config.Config) string {
	if cfg.DatabaseURL == "" {
		return "sqlite:" + cfg.SQLitePath()
	}
	return "postgres"
}

func busKind(cfg config.Config) string {
	if cfg.NATSURL == "" {
		return "embedded"
	}
	return "external"
}

// keyStore serves the one admin credential to the API's signature check.
type keyStore struct{ c apikey.Credential }

func (k keyStore) SecretKey(id string) (string, bool) {
	if id == k.c.SecretID {
		return k.c.SecretKey, true
	}
	return "", false
}

// mqttHost is the plain MQTT address shown by the console ("" when off).
func mqttHost(ad net.Addr) string {
	if ad == nil {
		return ""
	}
	return ad.String()
}
