// Package devicehttp serves the device-facing HTTP endpoints (PROTOCOL.md
// §13.4, §13.9):
//
//   - POST /register/dev and /device/register: both dynamic registration
//     APIs (RegisterHandler, over the rules of internal/dynreg).
//   - POST /device/publish: a message published as the device, signed like
//     the new registration API but keyed with the device secret string.
//     The device's topic ACL applies; the message then takes the same
//     uplink path as an MQTT PUBLISH of the device (the broker's Handler).
//   - POST /cgi-bin/report-log: the C SDK's log upload, checked with the
//     HMAC of its header and stored per device.
//
// Mount puts them all on one mux: the one HTTP listener devices use.
//
// # /device/publish errors
//
// Refusals are HTTP 200 with {"Response":{"Error":{"Code","Message"},
// "RequestId"}}:
//
//	malformed body or headers           InvalidParameterValue
//	unknown device or bad signature     AuthFailure.SignatureFailure
//	timestamp more than 5 minutes off   AuthFailure.SignatureExpire
//	nonce already used                  AuthFailure.InvalidNonce
//	device disabled                     UnauthorizedOperation.DeviceDisabled
//	certificate device (no secret)      UnsupportedOperation.CertificateDevice
//	topic not allowed by the ACL        UnauthorizedOperation.TopicNotAllowed
//	anything else                       InternalError
//
// # /cgi-bin/report-log errors
//
// Success is {"Retcode":0}. A refusal is HTTP 200 with {"Retcode":-1,
// "Message":"..."}: a malformed body, an unknown device, a bad signature,
// a disabled device. The C SDK only checks for Retcode 0.
package devicehttp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/protocol"
)

// Devices is what the endpoints need of the registry.
type Devices interface {
	// DeviceAuth returns a device's secret, state and custom topics.
	DeviceAuth(ctx context.Context, productID, name string) (registry.DeviceCredentials, error)
	// GetDevice returns a device with its product and plain PSK.
	GetDevice(ctx context.Context, productID, name string) (registry.DeviceDetail, error)
}

// Uplinks receives messages published over HTTP, as the broker's uplink
// handler receives MQTT publishes.
type Uplinks interface {
	HandleUplink(ctx context.Context, id devauth.Identity, topic string, payload []byte)
}

// Logs stores uploaded log lines.
type Logs interface {
	Append(ctx context.Context, productID, deviceName string, lines []protocol.LogLine) error
}

// Registration serves the two dynamic registration APIs (RegisterHandler).
type Registration interface {
	RegisterOld(w http.ResponseWriter, r *http.Request)
	RegisterNew(w http.ResponseWriter, r *http.Request)
}

// Errors of the endpoints.
var (
	ErrInvalidRequest = errors.New("invalid request")
	ErrAuth           = errors.New("unknown device or bad signature")
	ErrTimestamp      = errors.New("timestamp out of window")
	ErrNonceReused    = errors.New("nonce already used")
	ErrDisabled       = errors.New("device disabled")
	ErrCertDevice     = errors.New("certificate devices cannot publish over HTTP")
	ErrTopicDenied    = errors.New("topic not allowed")
)

// Config configures a Server. Devices and Uplinks are required for
// /device/publish, Devices and Logs for /cgi-bin/report-log.
type Config struct {
	Devices Devices
	Uplinks Uplinks
	Logs    Logs
	// Window is how far a publish timestamp may be off (default 5m).
	Window time.Duration
	// MaxBody bounds a publish body (default 64 KiB); log uploads are
	// bounded by protocol.DefaultMaxLogBody.
	MaxBody int64
	// MaxNonces bounds the remembered publish nonces (default 100000).
	MaxNonces int
	Logger    *slog.Logger
	Now       func() time.Time
}

// Server serves the endpoints; it is safe for concurrent use.
type Server struct {
	cfg    Config
	log    *slog.Logger
	nonces *nonceCache
}

// New returns a Server.
func New(cfg Config) *Server {
	if cfg.Window <= 0 {
		cfg.Window = 5 * time.Minute
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 64 << 10
	}
	if cfg.MaxNonces <= 0 {
		cfg.MaxNonces = 100_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: log, nonces: newNonceCache(2*cfg.Window, cfg.MaxNonces)}
}

// Mount registers the device endpoints on mux: reg's two registration
// APIs (when reg is not nil), /device/publish and /cgi-bin/report-log.
func (s *Server) Mount(mux *http.ServeMux, reg Registration) {
	if reg != nil {
		mux.HandleFunc(protocol.PathRegisterOld, reg.RegisterOld)
		mux.HandleFunc(protocol.PathRegisterNew, reg.RegisterNew)
	}
	mux.HandleFunc(protocol.PathDevicePublish, s.Publish)
	mux.HandleFunc(protocol.PathReportLog, s.ReportLog)
}

func readBody(r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read body: %w", ErrInvalidRequest, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: body larger than %d bytes", ErrInvalidRequest, limit)
	}
	return body, nil
}

func allowPost(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodPost {
		return true
	}
	w.Header().Set("Allow", http.MethodPost)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func isNotFound(err error) bool {
	return errors.Is(err, registry.ErrDeviceNotFound) || errors.Is(err, registry.ErrProductNotFound) ||
		errors.Is(err, registry.ErrNotFound)
}
