package dynreg

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// fakeProducts is an in-memory Products with the registry's rules.
type fakeProducts struct {
	mu       sync.Mutex
	settings map[string]Settings
	// devices: product id -> device name -> active (connected at least once).
	devices map[string]map[string]bool
	fail    error // returned by every call when set
}

func newFakeProducts() *fakeProducts {
	return &fakeProducts{settings: map[string]Settings{}, devices: map[string]map[string]bool{}}
}

func (f *fakeProducts) addProduct(id string, s Settings, devices map[string]bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settings[id] = s
	if devices == nil {
		devices = map[string]bool{}
	}
	f.devices[id] = devices
}

func (f *fakeProducts) RegisterSettings(_ context.Context, productID string) (Settings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return Settings{}, f.fail
	}
	s, ok := f.settings[productID]
	if !ok {
		return Settings{}, fmt.Errorf("product %s: %w", productID, ErrProductNotFound)
	}
	return s, nil
}

func (f *fakeProducts) Register(_ context.Context, productID, deviceName string, create bool) (Registered, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.settings[productID]
	if !ok {
		return Registered{}, ErrProductNotFound
	}
	devs := f.devices[productID]
	active, known := devs[deviceName]
	switch {
	case !known && !create:
		return Registered{}, ErrUnknownDevice
	case !known && s.Limit > 0 && len(devs) >= s.Limit:
		return Registered{}, ErrLimitReached
	case known && active && !s.AllowReregister:
		return Registered{}, ErrAlreadyActive
	}
	if !known {
		devs[deviceName] = false
	}
	if s.EncryptionType == EncryptionCert {
		return Registered{ClientCert: "-----BEGIN CERTIFICATE-----\nMIIB" + deviceName + "\n-----END CERTIFICATE-----\n",
			ClientKey: "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n"}, nil
	}
	if s.EncryptionType == "broken" {
		return Registered{}, nil
	}
	return Registered{PSK: "MDEyMzQ1Njc4OWFiY2RlZg=="}, nil
}

var errStoreDown = errors.New("store down")
