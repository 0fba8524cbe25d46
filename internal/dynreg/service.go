package dynreg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/thingo-iot/thingo/protocol"
)

// Mode is a product's dynamic registration mode.
type Mode int

// Modes of dynamic registration.
const (
	ModeOff        Mode = 0 // dynamic registration refused
	ModePreCreated Mode = 1 // only names created beforehand may register
	ModeAutoCreate Mode = 2 // an unknown name creates the device
)

// Encryption types of a product, as the registry stores them.
const (
	EncryptionCert = "1" // certificate devices
	EncryptionKey  = "2" // key (psk) devices
)

// Settings is what dynreg needs to know of a product.
type Settings struct {
	Type Mode
	// Limit is the product's maximum number of devices created by dynamic
	// registration (0: no limit) and AllowReregister lets an already active
	// device register again. Products.Register enforces both; they are
	// part of Settings so that the registry reads them in one place.
	Limit           int
	AllowReregister bool
	ProductSecret   string
	EncryptionType  string // EncryptionCert or EncryptionKey
}

// Registered is the credential handed to a registered device: PSK for key
// products, ClientCert and ClientKey (PEM) for certificate products.
type Registered struct {
	PSK        string
	ClientCert string
	ClientKey  string
}

// Products is what dynreg needs of the registry.
type Products interface {
	// RegisterSettings returns the product's settings, or an error wrapping
	// ErrProductNotFound.
	RegisterSettings(ctx context.Context, productID string) (Settings, error)
	// Register hands out the credential of the device, creating it when
	// create is true and the name is unknown (create is true only in
	// ModeAutoCreate). It enforces Settings.Limit and AllowReregister itself
	// (atomically with the creation) and returns errors wrapping
	// ErrLimitReached, ErrUnknownDevice or ErrAlreadyActive.
	Register(ctx context.Context, productID, deviceName string, create bool) (Registered, error)
}

// Errors of registration. Products implementations return the first four;
// the others are the service's own refusals.
var (
	ErrProductNotFound = errors.New("product not found")
	ErrLimitReached    = errors.New("registration limit of the product reached")
	ErrUnknownDevice   = errors.New("device not pre-created")
	ErrAlreadyActive   = errors.New("device already active")

	ErrInvalidRequest = errors.New("invalid request")
	ErrAuth           = errors.New("unknown product or bad signature")
	ErrTimestamp      = errors.New("timestamp out of window")
	ErrNonceReused    = errors.New("nonce already used")
	ErrRateLimited    = errors.New("too many requests")
	ErrDisabled       = errors.New("dynamic registration disabled for the product")
)

// Config tunes the service. Zero fields take the defaults.
type Config struct {
	// Window is how far a request's timestamp may be off (default 5m); a
	// nonce is remembered for twice the window.
	Window time.Duration
	// MaxBody is the largest request body the wire adapters accept
	// (default 4096 bytes); see Service.MaxBody.
	MaxBody int64
	// ReplayCacheSize bounds the remembered nonces (default 100000); when
	// full, requests are refused rather than risking a replay.
	ReplayCacheSize int
	// IPRate and IPBurst limit requests per client IP (default 1/s, burst
	// 10). rate.Inf disables the limit.
	IPRate  rate.Limit
	IPBurst int
	// ProductRate and ProductBurst limit authenticated requests per product
	// (default 10/s, burst 100). rate.Inf disables the limit.
	ProductRate  rate.Limit
	ProductBurst int
	// MaxTrackedKeys bounds the per-IP and per-product limiter tables
	// (default 10000 each).
	MaxTrackedKeys int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Window <= 0 {
		c.Window = 5 * time.Minute
	}
	if c.MaxBody <= 0 {
		c.MaxBody = 4096
	}
	if c.ReplayCacheSize <= 0 {
		c.ReplayCacheSize = 100_000
	}
	if c.IPRate <= 0 {
		c.IPRate = 1
	}
	if c.IPBurst <= 0 {
		c.IPBurst = 10
	}
	if c.ProductRate <= 0 {
		c.ProductRate = 10
	}
	if c.ProductBurst <= 0 {
		c.ProductBurst = 100
	}
	if c.MaxTrackedKeys <= 0 {
		c.MaxTrackedKeys = 10_000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Service registers devices dynamically. It is safe for concurrent use.
type Service struct {
	products    Products
	cfg         Config
	replay      *replayCache
	ipLimit     *limiterSet
	productLim  *limiterSet
	decoySecret string
}

// New returns a Service over products.
func New(products Products, cfg Config) *Service {
	cfg = cfg.withDefaults()
	return &Service{
		products:    products,
		cfg:         cfg,
		replay:      newReplayCache(2*cfg.Window, cfg.ReplayCacheSize),
		ipLimit:     newLimiterSet(cfg.IPRate, cfg.IPBurst, cfg.MaxTrackedKeys),
		productLim:  newLimiterSet(cfg.ProductRate, cfg.ProductBurst, cfg.MaxTrackedKeys),
		decoySecret: randomHex(16),
	}
}

// MaxBody returns the largest request body a wire adapter should accept
// (Config.MaxBody).
func (s *Service) MaxBody() int64 { return s.cfg.MaxBody }

// Request is one registration attempt, independent of the wire API.
type Request struct {
	ProductID  string
	DeviceName string
	Timestamp  time.Time
	Nonce      string
	ClientIP   string
	// Verify checks the request's signature with the product secret.
	Verify func(productSecret string) error
}

// Reply is a successful registration: the encrypted payload and the length
// of its plaintext.
type Reply struct {
	Len     int
	Payload string
}

// Register applies the rules of the package doc and returns the encrypted
// credential. Refusals wrap this package's errors.
func (s *Service) Register(ctx context.Context, req Request) (Reply, error) {
	now := s.cfg.Now()
	if !protocol.ValidProductID(req.ProductID) || !protocol.ValidDeviceName(req.DeviceName) {
		return Reply{}, fmt.Errorf("%w: bad product id or device name", ErrInvalidRequest)
	}
	if !s.ipLimit.allow(req.ClientIP, now) {
		return Reply{}, fmt.Errorf("%w: client ip %s", ErrRateLimited, req.ClientIP)
	}
	if d := now.Sub(req.Timestamp); d > s.cfg.Window || d < -s.cfg.Window {
		return Reply{}, fmt.Errorf("%w: off by %s", ErrTimestamp, d.Round(time.Second))
	}
	settings, err := s.products.RegisterSettings(ctx, req.ProductID)
	found := err == nil
	if err != nil && !errors.Is(err, ErrProductNotFound) {
		return Reply{}, fmt.Errorf("product settings: %w", err)
	}
	secret := settings.ProductSecret
	if !found {
		secret = s.decoySecret // same work as for a real product
	}
	if verr := req.Verify(secret); verr != nil || !found {
		if !found {
			return Reply{}, fmt.Errorf("%w: %w", ErrAuth, ErrProductNotFound)
		}
		return Reply{}, fmt.Errorf("%w: %w", ErrAuth, verr)
	}
	if !s.productLim.allow(req.ProductID, now) {
		return Reply{}, fmt.Errorf("%w: product %s", ErrRateLimited, req.ProductID)
	}
	fresh, err := s.replay.add(req.ProductID+"\x00"+req.Nonce, now)
	if err != nil {
		return Reply{}, fmt.Errorf("%w: %w", ErrRateLimited, err)
	}
	if !fresh {
		return Reply{}, fmt.Errorf("%w: nonce %s", ErrNonceReused, req.Nonce)
	}
	if settings.Type != ModePreCreated && settings.Type != ModeAutoCreate {
		return Reply{}, ErrDisabled
	}
	cred, err := s.products.Register(ctx, req.ProductID, req.DeviceName, settings.Type == ModeAutoCreate)
	if err != nil {
		return Reply{}, fmt.Errorf("register: %w", err)
	}
	payload, err := credentialPayload(settings.EncryptionType, cred)
	if err != nil {
		return Reply{}, err
	}
	enc, n, err := protocol.SealRegisterPayload(settings.ProductSecret, payload)
	if err != nil {
		return Reply{}, fmt.Errorf("seal payload: %w", err)
	}
	return Reply{Len: n, Payload: enc}, nil
}

func credentialPayload(encryptionType string, cred Registered) (protocol.RegisterPayload, error) {
	switch {
	case encryptionType == EncryptionKey && cred.PSK != "":
		return protocol.RegisterPayload{EncryptionType: protocol.RegisterEncryptionKey, PSK: cred.PSK}, nil
	case encryptionType == EncryptionCert && cred.ClientCert != "" && cred.ClientKey != "":
		return protocol.RegisterPayload{
			EncryptionType: protocol.RegisterEncryptionCert,
			ClientCert:     cred.ClientCert,
			ClientKey:      cred.ClientKey,
		}, nil
	default:
		return protocol.RegisterPayload{}, fmt.Errorf("registry returned no credential for encryption type %q", encryptionType)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b)
}
