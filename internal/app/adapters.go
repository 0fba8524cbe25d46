package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/thingo-iot/thingo/internal/api"
	"github.com/thingo-iot/thingo/internal/broker"
	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/protocol"
	"github.com/thingo-iot/thingo/protocol/tlspsk"
)

// deviceSource serves the registry's device credentials to devauth. Its
// lookups are marked so that invalidatingStore may answer the product and
// topic policy reads of a CONNECT from its product cache.
type deviceSource struct{ reg *registry.Service }

func (s deviceSource) DeviceAuth(ctx context.Context, productID, deviceName string) (devauth.DeviceAuth, error) {
	c, err := s.reg.DeviceAuth(context.WithValue(ctx, authLookupKey{}, true), productID, deviceName)
	if err != nil {
		return devauth.DeviceAuth{}, err
	}
	return devauth.DeviceAuth{
		ProductID: c.ProductID, DeviceName: c.DeviceName, EncryptionType: c.EncryptionType,
		ProductType: c.ProductType, Enabled: c.Enabled, PSK: c.PSK, CertSHA256: c.CertSHA256, Topics: c.Topics,
	}, nil
}

// sessions lets the API reach devices through the broker.
type sessions struct{ b *broker.Broker }

func (s sessions) Disconnect(ctx context.Context, productID, deviceName string) error {
	return s.b.Disconnect(ctx, productID, deviceName)
}

func (s sessions) DisconnectWith(ctx context.Context, productID, deviceName, topic string, payload []byte) error {
	return s.b.DisconnectWith(ctx, productID, deviceName, topic, payload)
}

func (s sessions) Publish(ctx context.Context, productID, deviceName, topic string, payload []byte, qos byte) error {
	_, err := s.b.Deliver(ctx, productID, deviceName, topic, payload, qos)
	if errors.Is(err, broker.ErrDeviceOffline) || errors.Is(err, broker.ErrNotSubscribed) {
		return errors.Join(api.ErrDeviceOffline, err)
	}
	return err
}

// pskKeys serves the registry's TLS-PSK keys to the broker's TLS listener.
type pskKeys struct{ reg *registry.Service }

// PSKKey returns the decoded PSK of an enabled key device whose identity is
// {productID}{deviceName}; anything else fails the handshake with the
// unknown_psk_identity alert.
func (k pskKeys) PSKKey(ctx context.Context, identity string) ([]byte, error) {
	pid, dn, ok := protocol.SplitClientID(identity)
	if !ok {
		return nil, fmt.Errorf("%w: %q", tlspsk.ErrUnknownIdentity, identity)
	}
	c, err := k.reg.DeviceAuth(ctx, pid, dn)
	switch {
	case errors.Is(err, registry.ErrNotFound), errors.Is(err, registry.ErrProductNotFound), errors.Is(err, registry.ErrDeviceNotFound):
		return nil, fmt.Errorf("%w: %q", tlspsk.ErrUnknownIdentity, identity)
	case err != nil:
		return nil, fmt.Errorf("psk of %q: %w", identity, err)
	case !c.Enabled || c.EncryptionType != registry.EncryptionKey || len(c.Key) == 0:
		return nil, fmt.Errorf("%w: %q is disabled or not a key device", tlspsk.ErrUnknownIdentity, identity)
	}
	return c.Key, nil
}

// authInvalidator is what a registry change must tell: the devauth cache.
type authInvalidator interface {
	Invalidate(productID, deviceName string)
	InvalidateProduct(productID string)
}

// invalidatingStore is the registry's Store that forgets cached device
// authentication data after every change that affects it, so that a device
// deleted or disabled through this node is refused at its next CONNECT.
// For the lookups of deviceSource (and only those) it also serves products
// and topic policies from a short-lived per-product cache, so that a
// CONNECT costs one database read (the device) instead of three.
// It forwards the optional DynregStore methods of the store it wraps.
type invalidatingStore struct {
	registry.Store
	auth     authInvalidator
	products *productCache // nil: no product cache
}

// newAuthStore wraps store for the registry: changes invalidate cache, and
// the CONNECT path's product reads are cached for ttl.
func newAuthStore(store registry.Store, cache authInvalidator, ttl time.Duration) invalidatingStore {
	pc := newProductCache(ttl, time.Now)
	return invalidatingStore{Store: store, auth: multiInvalidator{cache, pc}, products: pc}
}

// authLookupKey marks the context of a deviceSource lookup.
type authLookupKey struct{}

func isAuthLookup(ctx context.Context) bool {
	v, _ := ctx.Value(authLookupKey{}).(bool)
	return v
}

func (s invalidatingStore) GetProduct(ctx context.Context, id string) (registry.Product, error) {
	if s.products == nil || !isAuthLookup(ctx) {
		return s.Store.GetProduct(ctx, id)
	}
	return s.products.product(ctx, id, s.Store.GetProduct)
}

func (s invalidatingStore) ListTopicPolicies(ctx context.Context, productID string) ([]registry.TopicPolicy, error) {
	if s.products == nil || !isAuthLookup(ctx) {
		return s.Store.ListTopicPolicies(ctx, productID)
	}
	return s.products.topics(ctx, productID, s.Store.ListTopicPolicies)
}

var (
	_ registry.Store       = invalidatingStore{}
	_ registry.DynregStore = invalidatingStore{}
)

func (s invalidatingStore) UpdateProduct(ctx context.Context, p registry.Product) error {
	defer s.auth.InvalidateProduct(p.ID)
	return s.Store.UpdateProduct(ctx, p)
}

func (s invalidatingStore) DeleteProduct(ctx context.Context, id string) error {
	defer s.auth.InvalidateProduct(id)
	return s.Store.DeleteProduct(ctx, id)
}

func (s invalidatingStore) DeleteDevice(ctx context.Context, productID, name string) error {
	defer s.auth.Invalidate(productID, name)
	return s.Store.DeleteDevice(ctx, productID, name)
}

func (s invalidatingStore) SetDeviceEnabled(ctx context.Context, productID, name string, state int) error {
	defer s.auth.Invalidate(productID, name)
	return s.Store.SetDeviceEnabled(ctx, productID, name, state)
}

func (s invalidatingStore) CreateTopicPolicy(ctx context.Context, t registry.TopicPolicy) error {
	defer s.auth.InvalidateProduct(t.ProductID)
	return s.Store.CreateTopicPolicy(ctx, t)
}

func (s invalidatingStore) UpdateTopicPolicy(ctx context.Context, productID, oldName string, t registry.TopicPolicy) error {
	defer s.auth.InvalidateProduct(productID)
	return s.Store.UpdateTopicPolicy(ctx, productID, oldName, t)
}

func (s invalidatingStore) DeleteTopicPolicy(ctx context.Context, productID, name string) error {
	defer s.auth.InvalidateProduct(productID)
	return s.Store.DeleteTopicPolicy(ctx, productID, name)
}

func (s invalidatingStore) dynreg() (registry.DynregStore, error) {
	ds, ok := s.Store.(registry.DynregStore)
	if !ok {
		return nil, registry.ErrDynregUnsupported
	}
	return ds, nil
}

func (s invalidatingStore) GetDynamicRegister(ctx context.Context, productID string) (registry.DynamicRegister, error) {
	ds, err := s.dynreg()
	if err != nil {
		return registry.DynamicRegister{}, err
	}
	return ds.GetDynamicRegister(ctx, productID)
}

func (s invalidatingStore) EnsureDynamicRegister(ctx context.Context, d registry.DynamicRegister) (registry.DynamicRegister, error) {
	ds, err := s.dynreg()
	if err != nil {
		return registry.DynamicRegister{}, err
	}
	return ds.EnsureDynamicRegister(ctx, d)
}

func (s invalidatingStore) UpdateDynamicRegister(ctx context.Context, d registry.DynamicRegister) error {
	ds, err := s.dynreg()
	if err != nil {
		return err
	}
	return ds.UpdateDynamicRegister(ctx, d)
}

func (s invalidatingStore) CreateRegisteredDevice(ctx context.Context, d registry.Device) error {
	ds, err := s.dynreg()
	if err != nil {
		return err
	}
	defer s.auth.Invalidate(d.ProductID, d.Name)
	return ds.CreateRegisteredDevice(ctx, d)
}

func (s invalidatingStore) ReplaceDeviceCert(ctx context.Context, productID, name, certPEM, certSHA256 string) error {
	ds, err := s.dynreg()
	if err != nil {
		return err
	}
	defer s.auth.Invalidate(productID, name)
	return ds.ReplaceDeviceCert(ctx, productID, name, certPEM, certSHA256)
}

// multiInvalidator tells every cache of the CONNECT path.
type multiInvalidator []authInvalidator

func (m multiInvalidator) Invalidate(productID, deviceName string) {
	for _, i := range m {
		i.Invalidate(productID, deviceName)
	}
}

func (m multiInvalidator) InvalidateProduct(productID string) {
	for _, i := range m {
		i.InvalidateProduct(productID)
	}
}

// productCache keeps products and their topic policies for a short time.
// Products are few, so it is not bounded beyond expiry: an expired entry
// is replaced at its next lookup.
type productCache struct {
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	gen      uint64 // counts invalidations, as in devauth.Cache
	products map[string]expiring[registry.Product]
	policies map[string]expiring[[]registry.TopicPolicy]
}

// expiring is a cached value and when it stops being used.
type expiring[V any] struct {
	v       V
	expires time.Time
}

func newProductCache(ttl time.Duration, now func() time.Time) *productCache {
	if ttl <= 0 {
		ttl = devauth.DefaultCacheTTL
	}
	return &productCache{ttl: ttl, now: now,
		products: make(map[string]expiring[registry.Product]), policies: make(map[string]expiring[[]registry.TopicPolicy])}
}

func (c *productCache) product(ctx context.Context, id string, load func(context.Context, string) (registry.Product, error)) (registry.Product, error) {
	return cachedLoad(ctx, c, c.products, id, load)
}

func (c *productCache) topics(ctx context.Context, id string, load func(context.Context, string) ([]registry.TopicPolicy, error)) ([]registry.TopicPolicy, error) {
	return cachedLoad(ctx, c, c.policies, id, load)
}

// cachedLoad answers id from m while fresh, else loads and keeps it, unless
// an invalidation happened during the load (its result may be stale).
func cachedLoad[V any](ctx context.Context, c *productCache, m map[string]expiring[V], id string, load func(context.Context, string) (V, error)) (V, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := m[id]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.v, nil
	}
	v, err := load(ctx, id)
	if err != nil {
		var zero V
		return zero, err
	}
	c.mu.Lock()
	if c.gen == gen {
		m[id] = expiring[V]{v: v, expires: now.Add(c.ttl)}
	}
	c.mu.Unlock()
	return v, nil
}

// Invalidate implements authInvalidator; a device change leaves products
// as they are.
func (c *productCache) Invalidate(string, string) {}

// InvalidateProduct implements authInvalidator.
func (c *productCache) InvalidateProduct(productID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.products, productID)
	delete(c.policies, productID)
}
