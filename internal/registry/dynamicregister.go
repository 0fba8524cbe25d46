package registry

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Dynamic registration types (Tencent's RegisterType).
const (
	RegisterOff        = 0 // dynamic registration refused
	RegisterPreCreated = 1 // only devices created beforehand may register
	RegisterAutoCreate = 2 // an unknown name creates the device
)

// ProductSecretLen is the length of a generated product secret; its first
// 16 bytes are the AES key of the registration payload.
const ProductSecretLen = 24

// MaxRegisterLimit bounds RegisterLimit.
const MaxRegisterLimit = 1_000_000

const productSecretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Errors of dynamic registration.
var (
	// ErrDynregUnsupported: the Store does not implement DynregStore.
	ErrDynregUnsupported = errors.New("store does not keep dynamic registration settings")
	// ErrRegisterLimit: the product's RegisterLimit of devices created by
	// dynamic registration is reached.
	ErrRegisterLimit = errors.New("dynamic registration limit reached")
	// ErrDeviceActivated: the device has connected before and the product
	// does not allow re-registration.
	ErrDeviceActivated = errors.New("device already activated")
)

// DynamicRegister is a product's dynamic registration settings as stored.
type DynamicRegister struct {
	ProductID string
	Type      int   // RegisterOff, RegisterPreCreated or RegisterAutoCreate
	Limit     int64 // devices dynamic registration may create; 0: no limit
	// AllowReregister lets a device that already connected register again
	// (and receive its secret again).
	AllowReregister bool
	// SealedSecret is the product secret encrypted by the Sealer.
	SealedSecret []byte
	// Registered counts the devices created by dynamic registration.
	Registered int64
	UpdatedAt  time.Time
}

// DynregStore persists dynamic registration settings. The SQL stores
// implement it next to Store; the Service finds it by type assertion.
type DynregStore interface {
	// GetDynamicRegister returns a product's settings, or ErrNotFound when
	// the product has none yet (or does not exist).
	GetDynamicRegister(ctx context.Context, productID string) (DynamicRegister, error)
	// EnsureDynamicRegister stores d unless the product already has
	// settings, then returns the stored settings. It fails with
	// ErrProductNotFound when the product is unknown.
	EnsureDynamicRegister(ctx context.Context, d DynamicRegister) (DynamicRegister, error)
	// UpdateDynamicRegister sets Type, Limit, AllowReregister and UpdatedAt
	// of existing settings (ErrProductNotFound when there are none).
	UpdateDynamicRegister(ctx context.Context, d DynamicRegister) error
	// CreateRegisteredDevice creates d and counts it in the product's
	// Registered, atomically refusing with ErrRegisterLimit when Limit > 0
	// and Registered >= Limit. ErrDeviceExists when the name is taken.
	CreateRegisteredDevice(ctx context.Context, d Device) error
	// ReplaceDeviceCert stores a newly issued certificate of a device.
	ReplaceDeviceCert(ctx context.Context, productID, name, certPEM, certSHA256 string) error
}

// DynamicRegisterSettings is a product's settings with its plain secret.
type DynamicRegisterSettings struct {
	ProductID       string
	EncryptionType  string
	Type            int
	Limit           int64
	AllowReregister bool
	ProductSecret   string
	Registered      int64
}

func (s *Service) dynregStore() (DynregStore, error) {
	ds, ok := s.store.(DynregStore)
	if !ok {
		return nil, ErrDynregUnsupported
	}
	return ds, nil
}

// DynamicRegister returns a product's dynamic registration settings,
// generating the product secret on first use.
func (s *Service) DynamicRegister(ctx context.Context, productID string) (DynamicRegisterSettings, error) {
	ds, err := s.dynregStore()
	if err != nil {
		return DynamicRegisterSettings{}, err
	}
	p, err := s.store.GetProduct(ctx, productID)
	if err != nil {
		return DynamicRegisterSettings{}, fmt.Errorf("dynamic register of %s: %w", productID, err)
	}
	d, err := s.ensureDynamicRegister(ctx, ds, productID)
	if err != nil {
		return DynamicRegisterSettings{}, err
	}
	return s.openDynamicRegister(p, d)
}

// RegistrationSettings is DynamicRegister for the registration path: it
// never writes, and a product whose settings were never read or changed
// (so has no secret yet) is reported as ErrProductNotFound, like an
// unknown product.
func (s *Service) RegistrationSettings(ctx context.Context, productID string) (DynamicRegisterSettings, error) {
	ds, err := s.dynregStore()
	if err != nil {
		return DynamicRegisterSettings{}, err
	}
	p, err := s.store.GetProduct(ctx, productID)
	if err != nil {
		return DynamicRegisterSettings{}, fmt.Errorf("dynamic register of %s: %w", productID, err)
	}
	d, err := ds.GetDynamicRegister(ctx, productID)
	if errors.Is(err, ErrNotFound) {
		return DynamicRegisterSettings{}, fmt.Errorf("dynamic register of %s: no settings: %w", productID, ErrProductNotFound)
	}
	if err != nil {
		return DynamicRegisterSettings{}, fmt.Errorf("dynamic register of %s: %w", productID, err)
	}
	return s.openDynamicRegister(p, d)
}

func (s *Service) ensureDynamicRegister(ctx context.Context, ds DynregStore, productID string) (DynamicRegister, error) {
	if d, err := ds.GetDynamicRegister(ctx, productID); err == nil {
		return d, nil
	} else if !errors.Is(err, ErrNotFound) {
		return DynamicRegister{}, fmt.Errorf("dynamic register of %s: %w", productID, err)
	}
	secret, err := randomString(productSecretAlphabet, ProductSecretLen)
	if err != nil {
		return DynamicRegister{}, err
	}
	sealed, err := s.sealer.Seal([]byte(secret))
	if err != nil {
		return DynamicRegister{}, fmt.Errorf("seal product secret: %w", err)
	}
	d, err := ds.EnsureDynamicRegister(ctx, DynamicRegister{
		ProductID: productID, Type: RegisterOff, SealedSecret: sealed, UpdatedAt: s.clock(),
	})
	if err != nil {
		return DynamicRegister{}, fmt.Errorf("dynamic register of %s: %w", productID, err)
	}
	return d, nil
}

func (s *Service) openDynamicRegister(p Product, d DynamicRegister) (DynamicRegisterSettings, error) {
	plain, err := s.sealer.Open(d.SealedSecret)
	if err != nil {
		return DynamicRegisterSettings{}, fmt.Errorf("open product secret of %s: %w", p.ID, err)
	}
	return DynamicRegisterSettings{
		ProductID: p.ID, EncryptionType: p.EncryptionType, Type: d.Type, Limit: d.Limit,
		AllowReregister: d.AllowReregister, ProductSecret: string(plain), Registered: d.Registered,
	}, nil
}

// DynamicRegisterUpdate is what ModifyDynamicRegister takes; a nil
// AllowReregister keeps the current value.
type DynamicRegisterUpdate struct {
	Type            int
	Limit           int64
	AllowReregister *bool
}

// ModifyDynamicRegister changes a product's dynamic registration settings.
func (s *Service) ModifyDynamicRegister(ctx context.Context, productID string, in DynamicRegisterUpdate) (DynamicRegisterSettings, error) {
	if in.Type != RegisterOff && in.Type != RegisterPreCreated && in.Type != RegisterAutoCreate {
		return DynamicRegisterSettings{}, invalid("RegisterType", "must be 0 (off), 1 (pre-created devices) or 2 (auto-create)")
	}
	if in.Limit < 0 || in.Limit > MaxRegisterLimit {
		return DynamicRegisterSettings{}, invalid("RegisterLimit", "must be between 0 (no limit) and %d", MaxRegisterLimit)
	}
	ds, err := s.dynregStore()
	if err != nil {
		return DynamicRegisterSettings{}, err
	}
	p, err := s.store.GetProduct(ctx, productID)
	if err != nil {
		return DynamicRegisterSettings{}, fmt.Errorf("modify dynamic register of %s: %w", productID, err)
	}
	d, err := s.ensureDynamicRegister(ctx, ds, productID)
	if err != nil {
		return DynamicRegisterSettings{}, err
	}
	d.Type, d.Limit, d.UpdatedAt = in.Type, in.Limit, s.clock()
	if in.AllowReregister != nil {
		d.AllowReregister = *in.AllowReregister
	}
	if err := ds.UpdateDynamicRegister(ctx, d); err != nil {
		return DynamicRegisterSettings{}, fmt.Errorf("modify dynamic register of %s: %w", productID, err)
	}
	return s.openDynamicRegister(p, d)
}

// RegisterDevice hands out a device's credential to a dynamic registration
// that already proved knowledge of the product secret. An unknown name is
// created when create is true (counted against the product's limit:
// ErrRegisterLimit) and refused with ErrDeviceNotFound otherwise. A device
// that has connected before is refused with ErrDeviceActivated unless the
// product allows re-registration. Certificate devices get a new
// certificate and key (the key is never stored).
func (s *Service) RegisterDevice(ctx context.Context, productID, name string, create bool) (CreatedDevice, error) {
	if !ValidDeviceName(name) {
		return CreatedDevice{}, invalid("DeviceName", "must match [a-zA-Z0-9:_-]{1,%d}", MaxDeviceNameLen)
	}
	ds, err := s.dynregStore()
	if err != nil {
		return CreatedDevice{}, err
	}
	settings, err := s.RegistrationSettings(ctx, productID)
	if err != nil {
		return CreatedDevice{}, err
	}
	d, err := s.store.GetDevice(ctx, productID, name)
	switch {
	case err == nil:
		return s.reregister(ctx, ds, settings, d)
	case !errors.Is(err, ErrDeviceNotFound) && !errors.Is(err, ErrNotFound):
		return CreatedDevice{}, fmt.Errorf("register %s/%s: %w", productID, name, err)
	case !create:
		return CreatedDevice{}, fmt.Errorf("register %s/%s: %w", productID, name, ErrDeviceNotFound)
	}
	d = newDevice(productID, name, s.clock())
	out := CreatedDevice{}
	if settings.EncryptionType == EncryptionCert {
		if out.CertPEM, out.KeyPEM, err = s.issueCert(productID, name); err != nil {
			return CreatedDevice{}, err
		}
		if d.CertSHA256, err = CertSHA256(out.CertPEM); err != nil {
			return CreatedDevice{}, err
		}
		d.CertPEM = out.CertPEM
	} else {
		if out.PSK, err = newPSK(); err != nil {
			return CreatedDevice{}, err
		}
		if d.SealedPSK, err = s.sealer.Seal([]byte(out.PSK)); err != nil {
			return CreatedDevice{}, fmt.Errorf("seal psk: %w", err)
		}
	}
	if err := ds.CreateRegisteredDevice(ctx, d); errors.Is(err, ErrDeviceExists) {
		// A concurrent registration of the same name created it first.
		existing, gerr := s.store.GetDevice(ctx, productID, name)
		if gerr != nil {
			return CreatedDevice{}, fmt.Errorf("register %s/%s: %w", productID, name, gerr)
		}
		return s.reregister(ctx, ds, settings, existing)
	} else if err != nil {
		return CreatedDevice{}, fmt.Errorf("register %s/%s: %w", productID, name, err)
	}
	out.Device = d
	return out, nil
}

func (s *Service) reregister(ctx context.Context, ds DynregStore, settings DynamicRegisterSettings, d Device) (CreatedDevice, error) {
	if !d.Presence.FirstOnline.IsZero() && !settings.AllowReregister {
		return CreatedDevice{}, fmt.Errorf("register %s/%s: %w", d.ProductID, d.Name, ErrDeviceActivated)
	}
	if settings.EncryptionType != EncryptionCert {
		psk, err := s.openPSK(d)
		if err != nil {
			return CreatedDevice{}, err
		}
		return CreatedDevice{Device: d, PSK: psk}, nil
	}
	certPEM, keyPEM, err := s.issueCert(d.ProductID, d.Name)
	if err != nil {
		return CreatedDevice{}, err
	}
	sum, err := CertSHA256(certPEM)
	if err != nil {
		return CreatedDevice{}, err
	}
	if err := ds.ReplaceDeviceCert(ctx, d.ProductID, d.Name, certPEM, sum); err != nil {
		return CreatedDevice{}, fmt.Errorf("register %s/%s: %w", d.ProductID, d.Name, err)
	}
	d.CertPEM, d.CertSHA256 = certPEM, sum
	return CreatedDevice{Device: d, CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

func (s *Service) issueCert(productID, name string) (certPEM, keyPEM string, err error) {
	if s.issuer == nil {
		return "", "", fmt.Errorf("register %s/%s: %w", productID, name, ErrCertUnavailable)
	}
	certPEM, keyPEM, err = s.issuer.IssueDeviceCert(productID, name)
	if err != nil {
		return "", "", fmt.Errorf("issue certificate for %s/%s: %w", productID, name, err)
	}
	return certPEM, keyPEM, nil
}
