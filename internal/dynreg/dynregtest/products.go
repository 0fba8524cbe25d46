// Package dynregtest provides an in-memory dynreg.Products for tests of the
// dynamic registration service and of its HTTP adapter.
package dynregtest

import (
	"context"
	"fmt"
	"sync"

	"github.com/thingo-iot/thingo/internal/dynreg"
)

// EncryptionBroken is an encryption type for which Products.Register hands
// out an empty credential, as a faulty registry would.
const EncryptionBroken = "broken"

// PSK is the credential handed to every registered key device.
const PSK = "MDEyMzQ1Njc4OWFiY2RlZg=="

// Products is an in-memory dynreg.Products that applies the registry's
// rules (pre-created names, registration limit, re-registration). It is
// safe for concurrent use.
type Products struct {
	mu       sync.Mutex
	settings map[string]dynreg.Settings
	// devices: product id -> device name -> active (connected at least once).
	devices map[string]map[string]bool
	fail    error
}

// NewProducts returns an empty Products.
func NewProducts() *Products {
	return &Products{settings: map[string]dynreg.Settings{}, devices: map[string]map[string]bool{}}
}

// AddProduct adds (or replaces) a product with its devices: device name ->
// active (connected at least once). devices may be nil.
func (f *Products) AddProduct(id string, s dynreg.Settings, devices map[string]bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settings[id] = s
	d := make(map[string]bool, len(devices))
	for name, active := range devices {
		d[name] = active
	}
	f.devices[id] = d
}

// Fail makes every later RegisterSettings call return err (nil restores
// normal operation), as a failing store would.
func (f *Products) Fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

// RegisterSettings implements dynreg.Products.
func (f *Products) RegisterSettings(_ context.Context, productID string) (dynreg.Settings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return dynreg.Settings{}, f.fail
	}
	s, ok := f.settings[productID]
	if !ok {
		return dynreg.Settings{}, fmt.Errorf("product %s: %w", productID, dynreg.ErrProductNotFound)
	}
	return s, nil
}

// Register implements dynreg.Products. Certificate products get a fake PEM
// certificate and key, key products get PSK, EncryptionBroken products get
// nothing.
func (f *Products) Register(_ context.Context, productID, deviceName string, create bool) (dynreg.Registered, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.settings[productID]
	if !ok {
		return dynreg.Registered{}, dynreg.ErrProductNotFound
	}
	devs := f.devices[productID]
	active, known := devs[deviceName]
	switch {
	case !known && !create:
		return dynreg.Registered{}, dynreg.ErrUnknownDevice
	case !known && s.Limit > 0 && len(devs) >= s.Limit:
		return dynreg.Registered{}, dynreg.ErrLimitReached
	case known && active && !s.AllowReregister:
		return dynreg.Registered{}, dynreg.ErrAlreadyActive
	}
	if !known {
		devs[deviceName] = false
	}
	switch s.EncryptionType {
	case dynreg.EncryptionCert:
		return dynreg.Registered{ClientCert: "-----BEGIN CERTIFICATE-----\nMIIB" + deviceName + "\n-----END CERTIFICATE-----\n",
			ClientKey: "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n"}, nil
	case EncryptionBroken:
		return dynreg.Registered{}, nil
	default:
		return dynreg.Registered{PSK: PSK}, nil
	}
}
