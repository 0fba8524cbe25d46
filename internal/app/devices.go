package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/thingo-iot/thingo/internal/devicehttp"
	"github.com/thingo-iot/thingo/internal/devicelog"
	"github.com/thingo-iot/thingo/internal/dynreg"
	"github.com/thingo-iot/thingo/internal/registry"
)

// newDeviceLogs builds the device log service over the store.
func newDeviceLogs(store registry.Store, log *slog.Logger) (*devicelog.Service, error) {
	ls, ok := store.(devicelog.Store)
	if !ok {
		return nil, fmt.Errorf("store %T does not keep device logs", store)
	}
	return devicelog.New(ls, devicelog.Config{Logger: log.With("component", "devicelog")}), nil
}

// mountDeviceHTTP puts the device-facing endpoints on mux: both dynamic
// registration APIs, /device/publish (into the broker's uplink handler)
// and /cgi-bin/report-log.
func mountDeviceHTTP(mux *http.ServeMux, reg *registry.Service, uplinks devicehttp.Uplinks, logs *devicelog.Service, log *slog.Logger) {
	dr := devicehttp.NewRegisterHandler(dynreg.New(dynregProducts{reg}, dynreg.Config{}), log.With("component", "dynreg"))
	srv := devicehttp.New(devicehttp.Config{
		Devices: reg, Uplinks: uplinks, Logs: logs, Logger: log.With("component", "devicehttp"),
	})
	srv.Mount(mux, dr)
}

// dynregProducts serves dynreg.Products from the registry.
type dynregProducts struct{ reg *registry.Service }

func (p dynregProducts) RegisterSettings(ctx context.Context, productID string) (dynreg.Settings, error) {
	s, err := p.reg.RegistrationSettings(ctx, productID)
	if errors.Is(err, registry.ErrProductNotFound) {
		return dynreg.Settings{}, fmt.Errorf("%w: %w", dynreg.ErrProductNotFound, err)
	}
	if err != nil {
		return dynreg.Settings{}, err
	}
	return dynreg.Settings{
		Type: dynreg.Mode(s.Type), Limit: int(s.Limit), AllowReregister: s.AllowReregister,
		ProductSecret: s.ProductSecret, EncryptionType: s.EncryptionType,
	}, nil
}

func (p dynregProducts) Register(ctx context.Context, productID, deviceName string, create bool) (dynreg.Registered, error) {
	d, err := p.reg.RegisterDevice(ctx, productID, deviceName, create)
	switch {
	case err == nil:
		return dynreg.Registered{PSK: d.PSK, ClientCert: d.CertPEM, ClientKey: d.KeyPEM}, nil
	case errors.Is(err, registry.ErrRegisterLimit):
		return dynreg.Registered{}, fmt.Errorf("%w: %w", dynreg.ErrLimitReached, err)
	case errors.Is(err, registry.ErrDeviceNotFound):
		return dynreg.Registered{}, fmt.Errorf("%w: %w", dynreg.ErrUnknownDevice, err)
	case errors.Is(err, registry.ErrDeviceActivated):
		return dynreg.Registered{}, fmt.Errorf("%w: %w", dynreg.ErrAlreadyActive, err)
	case errors.Is(err, registry.ErrProductNotFound):
		return dynreg.Registered{}, fmt.Errorf("%w: %w", dynreg.ErrProductNotFound, err)
	default:
		return dynreg.Registered{}, err
	}
}
