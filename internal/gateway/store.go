package gateway

import (
	"context"
	"time"
)

// Binding binds a sub-device to a gateway device.
type Binding struct {
	GatewayProductID string
	GatewayName      string
	ProductID        string
	DeviceName       string
	BoundAt          time.Time
}

// SubProduct associates a sub-device product with a gateway product.
type SubProduct struct {
	GatewayProductID string
	ProductID        string
	CreatedAt        time.Time
}

// Store persists product associations and device bindings.
// Implementation: internal/store/sqlstore (tested by storetest).
type Store interface {
	// AddSubProduct associates a product with a gateway product; an
	// existing association is kept (no error).
	AddSubProduct(ctx context.Context, sp SubProduct) error
	// RemoveSubProduct removes an association; a missing one is no error.
	RemoveSubProduct(ctx context.Context, gatewayProductID, productID string) error
	// ListSubProducts returns the products associated with a gateway
	// product, ordered by product id.
	ListSubProducts(ctx context.Context, gatewayProductID string) ([]SubProduct, error)
	// IsSubProduct reports whether productID is associated with the
	// gateway product.
	IsSubProduct(ctx context.Context, gatewayProductID, productID string) (bool, error)

	// BindSubDevice binds a sub-device to a gateway device if the gateway
	// has fewer than max sub-devices. It fails with ErrAlreadyBound when
	// the device is bound to this gateway, ErrBoundElsewhere when bound to
	// another one, ErrTooManySubDevices at the limit.
	BindSubDevice(ctx context.Context, b Binding, max int) error
	// UnbindSubDevice removes the binding of a sub-device to this gateway,
	// or fails with ErrNotBound.
	UnbindSubDevice(ctx context.Context, gatewayProductID, gatewayName, productID, deviceName string) error
	// GetBinding returns the binding of a sub-device or ErrNotBound.
	GetBinding(ctx context.Context, productID, deviceName string) (Binding, error)
	// ListSubDevices returns one page of a gateway's sub-devices (all
	// products when productID is empty) ordered by bind time, then product
	// and name, and the total count. limit 0: no limit.
	ListSubDevices(ctx context.Context, gatewayProductID, gatewayName, productID string, offset, limit int) ([]Binding, int64, error)
}
