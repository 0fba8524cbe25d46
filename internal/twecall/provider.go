// Package twecall serves TWecall (PROTOCOL.md §11) on
// `$twecall/up/service/{pid}/{dn}` with answers on
// `$twecall/down/service/{pid}/{dn}`: get_wechat_sn_ticket,
// active_device_voip_license and get_voip_device_active_info.
//
// Tickets and licenses come from a Provider. Thingo ships LocalProvider: a
// license pool per product and package type kept by the operator, and SN
// tickets signed by Thingo. A WeChat-backed provider implements the same
// interface by calling WeChat's device-VoIP APIs with the operator's
// mini-program credentials.
package twecall

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Package types a license may have (PkgType 0–4).
const (
	MinPkgType = 0
	MaxPkgType = 4
)

// Errors.
var (
	// ErrNoLicense: the product's pool of that package type is exhausted
	// or was never filled.
	ErrNoLicense = errors.New("twecall: no license left in the pool")
	// ErrNotActivated: the device has no (unexpired) license.
	ErrNotActivated = errors.New("twecall: device has no active license")
	// ErrBadPkgType: the package type is not 0–4.
	ErrBadPkgType = errors.New("twecall: package type must be 0-4")
	// ErrBadTicket: a ticket is malformed, forged or expired.
	ErrBadTicket = errors.New("twecall: invalid ticket")
)

// Device names the device a request is about.
type Device struct {
	ProductID  string
	DeviceName string
}

// SN is the device serial number Thingo reports to WeChat: `{pid}_{dn}`.
func (d Device) SN() string { return d.ProductID + "_" + d.DeviceName }

// Activation is a device's license.
type Activation struct {
	ProductID   string
	DeviceName  string
	PkgType     int
	ModelID     string
	SN          string
	ActivatedAt time.Time
	ExpireAt    time.Time
}

// Provider issues SN tickets and VoIP licenses.
type Provider interface {
	// SNTicket returns a ticket the mini program uses to authorize the
	// device's SN.
	SNTicket(ctx context.Context, d Device, miniProgramAppID, modelID string) (string, error)
	// ActivateLicense activates a license of pkgType for the device; a
	// device with an unexpired license keeps it.
	ActivateLicense(ctx context.Context, d Device, pkgType int, miniProgramAppID, modelID string) (Activation, error)
	// ActiveInfo returns the device's license, or ErrNotActivated.
	ActiveInfo(ctx context.Context, d Device, miniProgramAppID, modelID string) (Activation, error)
}

// Pool is a product's supply of licenses of one package type.
type Pool struct {
	ProductID string
	PkgType   int
	Total     int64 // licenses bought
	Used      int64 // licenses activated
	ValidDays int   // lifetime of a license from its activation
	UpdatedAt time.Time
}

// Store keeps pools and activations.
type Store interface {
	// PutLicensePool creates or updates a pool's Total and ValidDays (Used
	// is kept); registry.ErrProductNotFound for a missing product.
	PutLicensePool(ctx context.Context, p Pool) error
	// ListLicensePools returns a product's pools by package type.
	ListLicensePools(ctx context.Context, productID string) ([]Pool, error)
	// ActivateLicense takes one license from the pool of a.PkgType and
	// records a as the device's activation, atomically; ErrNoLicense when
	// none is left. The pool's ValidDays is not applied: a.ExpireAt is.
	ActivateLicense(ctx context.Context, a Activation) error
	// GetActivation returns the device's activation or ErrNotActivated.
	GetActivation(ctx context.Context, productID, deviceName string) (Activation, error)
}

// LocalProvider issues licenses from the operator's pools and signs tickets
// with its own key.
type LocalProvider struct {
	store     Store
	key       []byte
	now       func() time.Time
	ticketTTL time.Duration
}

// DefaultTicketTTL is how long a local SN ticket is valid.
const DefaultTicketTTL = 2 * time.Hour

// NewLocalProvider returns a LocalProvider signing tickets with key (at
// least 32 bytes, kept secret: whoever verifies tickets needs it too).
func NewLocalProvider(store Store, key []byte, now func() time.Time) (*LocalProvider, error) {
	if store == nil || len(key) < 32 {
		return nil, errors.New("twecall: a store and a key of at least 32 bytes are required")
	}
	if now == nil {
		now = time.Now
	}
	return &LocalProvider{store: store, key: key, now: now, ticketTTL: DefaultTicketTTL}, nil
}

// ticketClaims is what a local ticket certifies.
type ticketClaims struct {
	SN       string `json:"sn"`
	AppID    string `json:"appid"`
	ModelID  string `json:"model"`
	IssuedAt int64  `json:"iat"`
	Expires  int64  `json:"exp"`
}

// SNTicket returns `base64url(claims).base64url(HMAC-SHA256(key, claims))`.
func (p *LocalProvider) SNTicket(_ context.Context, d Device, appID, modelID string) (string, error) {
	now := p.now()
	c, err := json.Marshal(ticketClaims{SN: d.SN(), AppID: appID, ModelID: modelID, IssuedAt: now.Unix(),
		Expires: now.Add(p.ticketTTL).Unix()})
	if err != nil {
		return "", fmt.Errorf("twecall ticket: %w", err)
	}
	body := base64.RawURLEncoding.EncodeToString(c)
	return body + "." + base64.RawURLEncoding.EncodeToString(p.sign(body)), nil
}

func (p *LocalProvider) sign(body string) []byte {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte("twecall-ticket:"))
	m.Write([]byte(body))
	return m.Sum(nil)
}

// VerifyTicket checks a ticket of this provider and returns the SN it
// certifies.
func (p *LocalProvider) VerifyTicket(ticket string) (sn string, err error) {
	body, sig, ok := strings.Cut(ticket, ".")
	if !ok {
		return "", ErrBadTicket
	}
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(raw, p.sign(body)) {
		return "", ErrBadTicket
	}
	cb, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return "", ErrBadTicket
	}
	var c ticketClaims
	if err := json.Unmarshal(cb, &c); err != nil || p.now().Unix() > c.Expires {
		return "", ErrBadTicket
	}
	return c.SN, nil
}

// ActivateLicense takes a license from the product's pool unless the device
// already has an unexpired one.
func (p *LocalProvider) ActivateLicense(ctx context.Context, d Device, pkgType int, _, modelID string) (Activation, error) {
	if pkgType < MinPkgType || pkgType > MaxPkgType {
		return Activation{}, ErrBadPkgType
	}
	now := p.now().UTC().Truncate(time.Millisecond)
	cur, err := p.store.GetActivation(ctx, d.ProductID, d.DeviceName)
	switch {
	case err == nil && cur.ExpireAt.After(now):
		return cur, nil
	case err != nil && !errors.Is(err, ErrNotActivated):
		return Activation{}, err
	}
	pools, err := p.store.ListLicensePools(ctx, d.ProductID)
	if err != nil {
		return Activation{}, err
	}
	days := -1
	for _, pl := range pools {
		if pl.PkgType == pkgType {
			days = pl.ValidDays
		}
	}
	if days < 0 {
		return Activation{}, ErrNoLicense
	}
	a := Activation{ProductID: d.ProductID, DeviceName: d.DeviceName, PkgType: pkgType, ModelID: modelID, SN: d.SN(),
		ActivatedAt: now, ExpireAt: now.Add(time.Duration(days) * 24 * time.Hour)}
	if err := p.store.ActivateLicense(ctx, a); err != nil {
		return Activation{}, err
	}
	return a, nil
}

// ActiveInfo returns the device's unexpired license.
func (p *LocalProvider) ActiveInfo(ctx context.Context, d Device, _, _ string) (Activation, error) {
	a, err := p.store.GetActivation(ctx, d.ProductID, d.DeviceName)
	if err != nil {
		return Activation{}, err
	}
	if !a.ExpireAt.After(p.now()) {
		return Activation{}, ErrNotActivated
	}
	return a, nil
}

// SetPool sets the number of licenses bought for a product's package type
// and their lifetime; licenses already activated stay counted.
func (p *LocalProvider) SetPool(ctx context.Context, productID string, pkgType int, total int64, validDays int) error {
	if pkgType < MinPkgType || pkgType > MaxPkgType {
		return ErrBadPkgType
	}
	return p.store.PutLicensePool(ctx, Pool{ProductID: productID, PkgType: pkgType, Total: total, ValidDays: validDays,
		UpdatedAt: p.now().UTC().Truncate(time.Millisecond)})
}

// Pools returns a product's license pools.
func (p *LocalProvider) Pools(ctx context.Context, productID string) ([]Pool, error) {
	return p.store.ListLicensePools(ctx, productID)
}
