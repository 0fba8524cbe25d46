// Package registrytest provides an in-memory registry.Store for tests of
// packages that build on the registry. It follows the Store contract
// (sentinel errors, filters, paging) but persists nothing.
package registrytest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/thingo-iot/thingo/internal/registry"
)

type deviceKey struct{ product, name string }

// Store is a map-based registry.Store. The zero value is not usable; call
// NewStore.
type Store struct {
	mu       sync.Mutex
	projects map[string]registry.Project
	products map[string]registry.Product
	devices  map[deviceKey]registry.Device
	topics   map[deviceKey]registry.TopicPolicy  // key: product, topic name
	dynreg   map[string]registry.DynamicRegister // lazily made; see dynreg.go
}

var _ registry.Store = (*Store)(nil)

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{
		projects: map[string]registry.Project{},
		products: map[string]registry.Product{},
		devices:  map[deviceKey]registry.Device{},
		topics:   map[deviceKey]registry.TopicPolicy{},
	}
}

func page[T any](all []T, offset, limit int) []T {
	if offset >= len(all) {
		return nil
	}
	all = all[offset:]
	if limit > 0 && limit < len(all) {
		all = all[:limit]
	}
	return all
}

// CreateProject implements registry.Store.
func (s *Store) CreateProject(_ context.Context, p registry.Project) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.projects[p.ID]; ok {
		return registry.ErrProjectExists
	}
	s.projects[p.ID] = p
	return nil
}

// GetProject implements registry.Store.
func (s *Store) GetProject(_ context.Context, id string) (registry.Project, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[id]
	if !ok {
		return registry.Project{}, registry.ErrProjectNotFound
	}
	return p, nil
}

// ListProjects implements registry.Store.
func (s *Store) ListProjects(_ context.Context, f registry.ProjectFilter) ([]registry.Project, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []registry.Project
	for _, p := range s.projects {
		if f.ProjectID != "" && p.ID != f.ProjectID || f.Name != "" && !strings.Contains(p.Name, f.Name) {
			continue
		}
		all = append(all, p)
	}
	slices.SortFunc(all, func(a, b registry.Project) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return page(all, f.Offset, f.Limit), int64(len(all)), nil
}

// UpdateProject implements registry.Store.
func (s *Store) UpdateProject(_ context.Context, p registry.Project) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.projects[p.ID]; !ok {
		return registry.ErrProjectNotFound
	}
	s.projects[p.ID] = p
	return nil
}

// DeleteProject implements registry.Store.
func (s *Store) DeleteProject(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.projects[id]; !ok {
		return registry.ErrProjectNotFound
	}
	for _, p := range s.products {
		if p.ProjectID == id {
			return registry.ErrProjectHasProducts
		}
	}
	delete(s.projects, id)
	return nil
}

// CountProject implements registry.Store.
func (s *Store) CountProject(_ context.Context, id string) (registry.ProjectCounts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.projects[id]; !ok {
		return registry.ProjectCounts{}, registry.ErrProjectNotFound
	}
	var c registry.ProjectCounts
	for _, p := range s.products {
		if p.ProjectID == id {
			c.Products++
		}
	}
	for _, d := range s.devices {
		if s.products[d.ProductID].ProjectID == id {
			c.Devices++
		}
	}
	return c, nil
}

// CreateProduct implements registry.Store.
func (s *Store) CreateProduct(_ context.Context, p registry.Product) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.projects[p.ProjectID]; !ok {
		return registry.ErrProjectNotFound
	}
	if _, ok := s.products[p.ID]; ok {
		return registry.ErrProductExists
	}
	s.products[p.ID] = p
	return nil
}

// GetProduct implements registry.Store.
func (s *Store) GetProduct(_ context.Context, id string) (registry.Product, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.products[id]
	if !ok {
		return registry.Product{}, registry.ErrProductNotFound
	}
	return p, nil
}

// ListProducts implements registry.Store.
func (s *Store) ListProducts(_ context.Context, f registry.ProductFilter) ([]registry.Product, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []registry.Product
	for _, p := range s.products {
		if f.ProjectID != "" && p.ProjectID != f.ProjectID ||
			f.DevStatus != "" && f.DevStatus != "all" && p.DevStatus != f.DevStatus {
			continue
		}
		all = append(all, p)
	}
	slices.SortFunc(all, func(a, b registry.Product) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return page(all, f.Offset, f.Limit), int64(len(all)), nil
}

// UpdateProduct implements registry.Store.
func (s *Store) UpdateProduct(_ context.Context, p registry.Product) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.products[p.ID]; !ok {
		return registry.ErrProductNotFound
	}
	s.products[p.ID] = p
	return nil
}

// DeleteProduct implements registry.Store.
func (s *Store) DeleteProduct(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.products[id]; !ok {
		return registry.ErrProductNotFound
	}
	for k := range s.devices {
		if k.product == id {
			return registry.ErrProductHasDevices
		}
	}
	for k := range s.topics {
		if k.product == id {
			delete(s.topics, k)
		}
	}
	delete(s.products, id)
	return nil
}

// CountDevices implements registry.Store.
func (s *Store) CountDevices(_ context.Context, productID string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for k := range s.devices {
		if k.product == productID {
			n++
		}
	}
	return n, nil
}

// CreateDevice implements registry.Store.
func (s *Store) CreateDevice(_ context.Context, d registry.Device) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.products[d.ProductID]; !ok {
		return registry.ErrProductNotFound
	}
	k := deviceKey{d.ProductID, d.Name}
	if _, ok := s.devices[k]; ok {
		return registry.ErrDeviceExists
	}
	s.devices[k] = d
	return nil
}

// GetDevice implements registry.Store.
func (s *Store) GetDevice(_ context.Context, productID, name string) (registry.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[deviceKey{productID, name}]
	if !ok {
		return registry.Device{}, registry.ErrDeviceNotFound
	}
	return d, nil
}

// ListDevices implements registry.Store.
func (s *Store) ListDevices(_ context.Context, f registry.DeviceFilter) ([]registry.Device, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []registry.Device
	for _, d := range s.devices {
		switch {
		case f.ProductID != "" && d.ProductID != f.ProductID,
			f.ProjectID != "" && s.products[d.ProductID].ProjectID != f.ProjectID,
			f.NameContains != "" && !strings.Contains(d.Name, f.NameContains),
			f.FirmwareVersion == "None-FirmwareVersion" && d.Version != "",
			f.FirmwareVersion != "" && f.FirmwareVersion != "None-FirmwareVersion" && d.Version != f.FirmwareVersion:
			continue
		}
		all = append(all, d)
	}
	slices.SortFunc(all, func(a, b registry.Device) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.Name, b.Name))
	})
	return page(all, f.Offset, f.Limit), int64(len(all)), nil
}

// DeleteDevice implements registry.Store.
func (s *Store) DeleteDevice(_ context.Context, productID, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := deviceKey{productID, name}
	if _, ok := s.devices[k]; !ok {
		return registry.ErrDeviceNotFound
	}
	delete(s.devices, k)
	return nil
}

func (s *Store) updateDevice(productID, name string, fn func(*registry.Device)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := deviceKey{productID, name}
	d, ok := s.devices[k]
	if !ok {
		return registry.ErrDeviceNotFound
	}
	fn(&d)
	s.devices[k] = d
	return nil
}

// SetDeviceEnabled implements registry.Store.
func (s *Store) SetDeviceEnabled(_ context.Context, productID, name string, state int) error {
	return s.updateDevice(productID, name, func(d *registry.Device) { d.EnableState = state })
}

// RecordConnect implements registry.Store.
func (s *Store) RecordConnect(_ context.Context, productID, name string, p registry.Presence) error {
	return s.updateDevice(productID, name, func(d *registry.Device) { recordConnect(d, p) })
}

// RecordDisconnect implements registry.Store.
func (s *Store) RecordDisconnect(_ context.Context, productID, name string, at time.Time) error {
	return s.updateDevice(productID, name, func(d *registry.Device) { recordDisconnect(d, at) })
}

// RecordPresence implements registry.Store: the changes are applied in
// order under one lock; changes of unknown devices are skipped.
func (s *Store) RecordPresence(_ context.Context, changes []registry.PresenceChange) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range changes {
		k := deviceKey{c.ProductID, c.Name}
		d, ok := s.devices[k]
		if !ok {
			continue
		}
		if c.Online {
			recordConnect(&d, c.Presence)
		} else {
			recordDisconnect(&d, c.At)
		}
		s.devices[k] = d
	}
	return nil
}

// recordConnect marks d online as the SQL store does: FirstOnline is set
// only if unset, to p.FirstOnline or, when that is zero, p.LastLogin.
func recordConnect(d *registry.Device, p registry.Presence) {
	first := d.Presence.FirstOnline
	if first.IsZero() {
		first = p.FirstOnline
	}
	if first.IsZero() {
		first = p.LastLogin
	}
	d.Presence = registry.Presence{
		Online: true, FirstOnline: first, LastLogin: p.LastLogin, LastLogout: d.Presence.LastLogout,
		ClientIP: p.ClientIP, ProtocolLevel: p.ProtocolLevel, KeepAlive: p.KeepAlive,
	}
}

func recordDisconnect(d *registry.Device, at time.Time) {
	d.Presence.Online = false
	d.Presence.LastLogout = at
}

// ResetPresence implements registry.Store.
func (s *Store) ResetPresence(_ context.Context, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, d := range s.devices {
		if d.Presence.Online {
			d.Presence.Online = false
			d.Presence.LastLogout = at
			s.devices[k] = d
		}
	}
	return nil
}

// DeviceStats implements registry.Store.
func (s *Store) DeviceStats(_ context.Context, projectID string, productIDs []string, now time.Time) (registry.DeviceStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st registry.DeviceStats
	day, week, twoWeeks := now.Add(-24*time.Hour), now.Add(-7*24*time.Hour), now.Add(-14*24*time.Hour)
	for _, d := range s.devices {
		if s.products[d.ProductID].ProjectID != projectID ||
			len(productIDs) > 0 && !slices.Contains(productIDs, d.ProductID) {
			continue
		}
		first, last := d.Presence.FirstOnline, d.Presence.LastLogin
		if !first.IsZero() {
			st.Activated++
		}
		if d.Presence.Online {
			st.Online++
		}
		inRange := func(t, from, to time.Time) bool { return !t.IsZero() && !t.Before(from) && t.Before(to) }
		if inRange(first, day, now.Add(time.Nanosecond)) {
			st.ActivatedSince1Day++
		}
		if inRange(last, day, now.Add(time.Nanosecond)) {
			st.ActiveSince1Day++
		}
		if inRange(first, week, now.Add(time.Nanosecond)) {
			st.ActivatedSince7Days++
		}
		if inRange(last, week, now.Add(time.Nanosecond)) {
			st.ActiveSince7Days++
		}
		if inRange(first, twoWeeks, week) {
			st.ActivatedPrev7Days++
		}
		if inRange(last, twoWeeks, week) {
			st.ActivePrev7Days++
		}
	}
	return st, nil
}

// CreateTopicPolicy implements registry.Store.
func (s *Store) CreateTopicPolicy(_ context.Context, t registry.TopicPolicy) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.products[t.ProductID]; !ok {
		return registry.ErrProductNotFound
	}
	k := deviceKey{t.ProductID, t.Name}
	if _, ok := s.topics[k]; ok {
		return registry.ErrTopicExists
	}
	s.topics[k] = t
	return nil
}

// GetTopicPolicy implements registry.Store.
func (s *Store) GetTopicPolicy(_ context.Context, productID, name string) (registry.TopicPolicy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.topics[deviceKey{productID, name}]
	if !ok {
		return registry.TopicPolicy{}, registry.ErrTopicNotFound
	}
	return t, nil
}

// ListTopicPolicies implements registry.Store.
func (s *Store) ListTopicPolicies(_ context.Context, productID string) ([]registry.TopicPolicy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []registry.TopicPolicy
	for k, t := range s.topics {
		if k.product == productID {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b registry.TopicPolicy) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// UpdateTopicPolicy implements registry.Store.
func (s *Store) UpdateTopicPolicy(_ context.Context, productID, oldName string, t registry.TopicPolicy) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	oldKey := deviceKey{productID, oldName}
	if _, ok := s.topics[oldKey]; !ok {
		return registry.ErrTopicNotFound
	}
	newKey := deviceKey{productID, t.Name}
	if _, ok := s.topics[newKey]; ok && newKey != oldKey {
		return fmt.Errorf("rename %s: %w", t.Name, registry.ErrTopicExists)
	}
	delete(s.topics, oldKey)
	t.ProductID = productID
	s.topics[newKey] = t
	return nil
}

// DeleteTopicPolicy implements registry.Store.
func (s *Store) DeleteTopicPolicy(_ context.Context, productID, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := deviceKey{productID, name}
	if _, ok := s.topics[k]; !ok {
		return registry.ErrTopicNotFound
	}
	delete(s.topics, k)
	return nil
}

// Close implements registry.Store.
func (s *Store) Close() error { return nil }
