package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/thingo-iot/thingo/internal/api"
	"github.com/thingo-iot/thingo/internal/broker"
	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/protocol/tlspsk"
	"github.com/thingo-iot/thingo/protocol"
)

// deviceSource serves the registry's device credentials to devauth.
type deviceSource struct{ reg *registry.Service }

func (s deviceSource) DeviceAuth(ctx context.Context, productID, deviceName string) (devauth.DeviceAuth, error) {
	c, err := s.reg.DeviceAuth(ctx, productID, deviceName)
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
