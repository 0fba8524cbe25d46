package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/thingo-iot/thingo/internal/blob"
	"github.com/thingo-iot/thingo/internal/broker"
	"github.com/thingo-iot/thingo/internal/config"
	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/internal/ingest"
	"github.com/thingo-iot/thingo/internal/ota"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/protocol"
)

// uploadTTL is the lifetime of signed upload links; the download link
// lifetime is configured (--download-link-ttl).
const uploadTTL = time.Hour

// blobKeyFile holds the secret that signs file links, so links survive
// restarts.
const blobKeyFile = "blob-url.key"

// otaParts is the OTA subsystem: file storage, the link server and the
// firmware service.
type otaParts struct {
	files   blob.Backend
	server  *blob.Server
	service *ota.Service
}

// newOTA builds the OTA subsystem; deliver reaches the broker once it
// exists (it is only called while the node runs).
func newOTA(ctx context.Context, cfg config.Config, store registry.Store, reg *registry.Service, deliver func() *broker.Broker, publicURL func() string, log *slog.Logger) (*otaParts, error) {
	st, ok := store.(ota.Store)
	if !ok {
		return nil, fmt.Errorf("store %T does not keep firmware", store)
	}
	dataDir := cfg.DataDir
	key, err := loadOrCreateKey(filepath.Join(dataDir, blobKeyFile))
	if err != nil {
		return nil, fmt.Errorf("file link key: %w", err)
	}
	signer, err := blob.NewSigner(key)
	if err != nil {
		return nil, err
	}
	files, err := openFiles(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("file storage: %w", err)
	}
	ttl := cfg.DownloadLinkTTL
	if ttl <= 0 {
		ttl = config.DefaultDownloadLinkTTL
	}
	srv, err := blob.NewServer(blob.ServerConfig{Store: files, Signer: signer, Logger: log.With("component", "files")})
	if err != nil {
		_ = files.Close()
		return nil, err
	}
	svc, err := ota.NewService(ota.Config{
		Store: st, Registry: reg, Files: files, Links: links{srv, publicURL, ttl},
		Publisher: otaPublisher{deliver}, Resources: resourceStore(store), Logger: log.With("component", "ota"),
	})
	if err != nil {
		_ = files.Close()
		return nil, err
	}
	return &otaParts{files: files, server: srv, service: svc}, nil
}

// register serves file links at root-level paths ("/<token>").
func (o *otaParts) register(mux *http.ServeMux) {
	mux.Handle("GET /{token}", o.server)
	mux.Handle("PUT /{token}", o.server)
}

func loadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < blob.MinKeyLen {
			return nil, fmt.Errorf("%s: shorter than %d bytes", path, blob.MinKeyLen)
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, blob.MinKeyLen)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return nil, err
	}
	return b, f.Close()
}

// openFiles opens the configured file store: the directory <data>/files,
// or an S3-compatible bucket for an s3:// --blob-url.
func openFiles(ctx context.Context, cfg config.Config) (blob.Backend, error) {
	if cfg.BlobURL == "" {
		return blob.OpenLocal(filepath.Join(cfg.DataDir, "files"))
	}
	s3cfg, err := blob.ParseS3URL(cfg.BlobURL)
	if err != nil {
		return nil, err
	}
	s3cfg.AccessKey, s3cfg.SecretKey = cfg.S3AccessKey, cfg.S3SecretKey
	return blob.OpenS3(ctx, s3cfg)
}

// links makes file links under the node's public URL.
type links struct {
	srv         *blob.Server
	publicURL   func() string
	downloadTTL time.Duration
}

func (l links) UploadURL(key string) string {
	return l.srv.URL(l.publicURL(), blob.KindUpload, key, uploadTTL)
}

func (l links) DownloadURL(key string) string {
	return l.srv.URL(l.publicURL(), blob.KindDownload, key, l.downloadTTL)
}

// otaPublisher sends $ota downlinks through the broker; any failure to
// deliver or queue is an error (the task engine retries).
type otaPublisher struct{ broker func() *broker.Broker }

func (p otaPublisher) Publish(ctx context.Context, productID, deviceName, topic string, payload []byte, qos byte) error {
	b := p.broker()
	if b == nil {
		return broker.ErrNotRunning
	}
	_, err := b.Deliver(ctx, productID, deviceName, topic, payload, qos)
	return err
}

// uplinks routes $ota reports, $resource messages and file methods on
// $thing/up/service to the firmware service and the rest to next.
func (o *otaParts) uplinks(next broker.Handler) broker.Handler {
	return resourceRouter{next: ingest.WithOTA{Next: next, OTA: o.service}, svc: o.service}
}

// resourceStore returns the store's resource side, or nil when it keeps
// none (resource management is then off).
func resourceStore(store registry.Store) ota.ResourceStore {
	rs, _ := store.(ota.ResourceStore)
	return rs
}

// resourceRouter routes $resource/up/service uplinks and the §10 file
// methods on $thing/up/service to the resource protocol (so they never
// reach the thing-model handler) and everything else to next.
type resourceRouter struct {
	next broker.Handler
	svc  *ota.Service
}

// HandleUplink implements broker.Handler.
func (r resourceRouter) HandleUplink(ctx context.Context, id devauth.Identity, topic string, payload []byte) {
	t, err := protocol.ParseTopic(topic)
	if err == nil && t.Family == protocol.FamilyResource && t.Direction == protocol.Up {
		r.svc.HandleResource(ctx, t.ProductID, t.DeviceName, payload)
		return
	}
	if err == nil && t.Family == protocol.FamilyThing && t.Direction == protocol.Up && t.Kind == protocol.KindService &&
		ota.IsFileMethod(payload) {
		r.svc.HandleThingService(ctx, t.ProductID, t.DeviceName, payload)
		return
	}
	r.next.HandleUplink(ctx, id, topic, payload)
}

// run drives upgrade tasks until ctx ends. In a cluster (c not nil) only
// the node holding the OTA lease runs the engine (pushes, retries,
// timeouts, task completion); the reports of a device are handled by the
// node it is connected to, whichever leads.
func (o *otaParts) run(ctx context.Context, c *cluster) {
	if c == nil {
		o.service.Run(ctx)
		return
	}
	c.lead(ctx, otaLease, otaLeaseTTL, o.service.Run)
}

// close releases the file store.
func (o *otaParts) close() error { return o.files.Close() }
