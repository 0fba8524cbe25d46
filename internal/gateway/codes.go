// Package gateway implements gateways and sub-devices (PROTOCOL.md §8,
// §13.7): which sub-device products a gateway product may carry, which
// sub-devices are bound to which gateway device, the signed topology
// requests on $gateway/operation, and the in-memory set of sub-devices
// online through each gateway that the broker's ACL and downlink routing
// consult without I/O.
package gateway

import "errors"

// Result codes of $gateway/operation replies (PROTOCOL.md §8).
const (
	ResultOK              = 0
	ResultNotBound        = -1  // gateway not bound to this sub-device
	ResultSystemError     = -2  // system error (online/offline failed)
	ResultBadParams       = 801 // bad parameters
	ResultBadDevice       = 802 // bad or unknown device name
	ResultBadSignature    = 803 // signature check failed
	ResultBadSignMethod   = 804 // sign method not supported
	ResultSignExpired     = 805 // signature expired
	ResultBoundElsewhere  = 806 // already bound to another gateway
	ResultNotNormal       = 807 // not a normal device
	ResultNotAllowed      = 808 // operation not allowed
	ResultDuplicateBind   = 809 // duplicate bind
	ResultProductNotBound = 810 // sub-device product not associated with the gateway product
)

// DefaultMaxSubDevices is the number of sub-devices one gateway may have
// bound.
const DefaultMaxSubDevices = 1500

// Errors of the store and the service.
var (
	// ErrNotBound: the device is not bound (to this gateway).
	ErrNotBound = errors.New("gateway: sub-device not bound")
	// ErrBoundElsewhere: the device is bound to another gateway.
	ErrBoundElsewhere = errors.New("gateway: sub-device bound to another gateway")
	// ErrAlreadyBound: the device is already bound to this gateway.
	ErrAlreadyBound = errors.New("gateway: sub-device already bound")
	// ErrNotGateway: the product or device is not a gateway.
	ErrNotGateway = errors.New("gateway: not a gateway")
	// ErrNotNormal: the product or device is a gateway, not a normal one.
	ErrNotNormal = errors.New("gateway: not a normal device")
	// ErrProductNotAssociated: the sub-device product is not associated
	// with the gateway product.
	ErrProductNotAssociated = errors.New("gateway: sub-device product not associated with the gateway product")
	// ErrTooManySubDevices: the gateway reached its sub-device limit.
	ErrTooManySubDevices = errors.New("gateway: too many sub-devices")
	// ErrBadStatus: a search_devices status other than 0 (stop) or 1 (start).
	ErrBadStatus = errors.New("gateway: status must be 0 or 1")
)
