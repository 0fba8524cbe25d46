package registrytest

import (
	"context"
	"slices"

	"github.com/thingo-iot/thingo/internal/registry"
)

var _ registry.DynregStore = (*Store)(nil)

// GetDynamicRegister implements registry.DynregStore.
func (s *Store) GetDynamicRegister(_ context.Context, productID string) (registry.DynamicRegister, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dynreg[productID]
	if _, exists := s.products[productID]; !ok || !exists {
		return registry.DynamicRegister{}, registry.ErrNotFound
	}
	d.SealedSecret = slices.Clone(d.SealedSecret)
	return d, nil
}

// EnsureDynamicRegister implements registry.DynregStore.
func (s *Store) EnsureDynamicRegister(_ context.Context, d registry.DynamicRegister) (registry.DynamicRegister, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.products[d.ProductID]; !ok {
		return registry.DynamicRegister{}, registry.ErrProductNotFound
	}
	if s.dynreg == nil {
		s.dynreg = map[string]registry.DynamicRegister{}
	}
	got, ok := s.dynreg[d.ProductID]
	if !ok {
		d.SealedSecret = slices.Clone(d.SealedSecret)
		s.dynreg[d.ProductID] = d
		got = d
	}
	got.SealedSecret = slices.Clone(got.SealedSecret)
	return got, nil
}

// UpdateDynamicRegister implements registry.DynregStore.
func (s *Store) UpdateDynamicRegister(_ context.Context, d registry.DynamicRegister) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.dynreg[d.ProductID]
	if !ok {
		return registry.ErrProductNotFound
	}
	cur.Type, cur.Limit, cur.AllowReregister, cur.UpdatedAt = d.Type, d.Limit, d.AllowReregister, d.UpdatedAt
	s.dynreg[d.ProductID] = cur
	return nil
}

// CreateRegisteredDevice implements registry.DynregStore.
func (s *Store) CreateRegisteredDevice(_ context.Context, d registry.Device) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.dynreg[d.ProductID]
	if _, exists := s.products[d.ProductID]; !ok || !exists {
		return registry.ErrProductNotFound
	}
	if cur.Limit > 0 && cur.Registered >= cur.Limit {
		return registry.ErrRegisterLimit
	}
	k := deviceKey{d.ProductID, d.Name}
	if _, ok := s.devices[k]; ok {
		return registry.ErrDeviceExists
	}
	s.devices[k] = d
	cur.Registered++
	s.dynreg[d.ProductID] = cur
	return nil
}

// ReplaceDeviceCert implements registry.DynregStore.
func (s *Store) ReplaceDeviceCert(_ context.Context, productID, name, certPEM, certSHA256 string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := deviceKey{productID, name}
	d, ok := s.devices[k]
	if !ok {
		return registry.ErrDeviceNotFound
	}
	d.CertPEM, d.CertSHA256 = certPEM, certSHA256
	s.devices[k] = d
	return nil
}
