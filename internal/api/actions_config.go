package api

import (
	"context"
	"errors"

	"github.com/thingo-iot/thingo/internal/remoteconfig"
)

// RemoteConfigs manages remote configurations (PROTOCOL.md §13.10).
type RemoteConfigs interface {
	Set(ctx context.Context, productID, deviceName string, enabled bool, payload []byte) (remoteconfig.Record, error)
	Get(ctx context.Context, productID, deviceName string) (remoteconfig.Record, error)
	Delete(ctx context.Context, productID, deviceName string) error
	Push(ctx context.Context, productID, deviceName string) (int, error)
}

// codeRemoteConfigNotExist: no configuration is stored at that level.
const codeRemoteConfigNotExist = "ResourceNotFound.RemoteConfigNotExist"

// RemoteConfig is a stored configuration (Thingo extension actions
// ModifyRemoteConfig, DescribeRemoteConfig, DeleteRemoteConfig,
// PushRemoteConfig).
type RemoteConfig struct {
	ProductId  string
	DeviceName string
	Enabled    bool
	Payload    string
	UpdateTime int64
}

type (
	modifyRemoteConfigRequest struct {
		ProductId  *string `required:"true"`
		DeviceName string
		Enabled    *bool   `required:"true"`
		Payload    *string `required:"true"`
	}
	remoteConfigRequest struct {
		ProductId  *string `required:"true"`
		DeviceName string
	}
	remoteConfigResponse struct {
		Config RemoteConfig
	}
	pushRemoteConfigResponse struct {
		DeviceCount int64
	}
)

func remoteConfigEntry(r remoteconfig.Record) RemoteConfig {
	return RemoteConfig{ProductId: r.ProductID, DeviceName: r.DeviceName, Enabled: r.Enabled,
		Payload: string(r.Payload), UpdateTime: unixSec(r.UpdatedAt)}
}

// configTarget checks that the product (and device, when named) exists.
func (h *Handler) configTarget(ctx context.Context, pid, dn string) (string, string, error) {
	if h.protocols.RemoteConfig == nil {
		return "", "", unsupported("remote configuration")
	}
	if dn == "" {
		p, err := h.reg.GetProduct(ctx, pid)
		return p.ID, "", err
	}
	d, err := h.reg.GetDevice(ctx, pid, dn)
	return d.Product.ID, d.Device.Name, err
}

func configError(err error) error {
	switch {
	case errors.Is(err, remoteconfig.ErrNotFound):
		return newError(codeRemoteConfigNotExist, "no remote configuration is stored here")
	case errors.Is(err, remoteconfig.ErrNotObject):
		return newError(codeInvalidParameterValue, "parameter Payload: must be a JSON object")
	case errors.Is(err, remoteconfig.ErrTooLarge):
		return newError(codePayloadOverLimit, "parameter Payload: larger than 16 KB")
	}
	return err
}

func (h *Handler) modifyRemoteConfig(ctx context.Context, req *modifyRemoteConfigRequest) (*remoteConfigResponse, error) {
	pid, dn, err := h.configTarget(ctx, *req.ProductId, req.DeviceName)
	if err != nil {
		return nil, err
	}
	r, err := h.protocols.RemoteConfig.Set(ctx, pid, dn, *req.Enabled, []byte(*req.Payload))
	if err != nil {
		return nil, configError(err)
	}
	return &remoteConfigResponse{Config: remoteConfigEntry(r)}, nil
}

func (h *Handler) describeRemoteConfig(ctx context.Context, req *remoteConfigRequest) (*remoteConfigResponse, error) {
	pid, dn, err := h.configTarget(ctx, *req.ProductId, req.DeviceName)
	if err != nil {
		return nil, err
	}
	r, err := h.protocols.RemoteConfig.Get(ctx, pid, dn)
	if err != nil {
		return nil, configError(err)
	}
	return &remoteConfigResponse{Config: remoteConfigEntry(r)}, nil
}

func (h *Handler) deleteRemoteConfig(ctx context.Context, req *remoteConfigRequest) (*emptyResponse, error) {
	pid, dn, err := h.configTarget(ctx, *req.ProductId, req.DeviceName)
	if err != nil {
		return nil, err
	}
	if err := h.protocols.RemoteConfig.Delete(ctx, pid, dn); err != nil {
		return nil, configError(err)
	}
	return &emptyResponse{}, nil
}

// pushRemoteConfig pushes the effective configuration to one device or to
// every reachable device of the product.
func (h *Handler) pushRemoteConfig(ctx context.Context, req *remoteConfigRequest) (*pushRemoteConfigResponse, error) {
	pid, dn, err := h.configTarget(ctx, *req.ProductId, req.DeviceName)
	if err != nil {
		return nil, err
	}
	n, err := h.protocols.RemoteConfig.Push(ctx, pid, dn)
	if errors.Is(err, remoteconfig.ErrDisabled) {
		return nil, newError(codeFailedOperation, "the device's remote configuration is disabled or missing")
	}
	if err != nil {
		return nil, configError(err)
	}
	return &pushRemoteConfigResponse{DeviceCount: int64(n)}, nil
}
