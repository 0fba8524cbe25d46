package devauth

import (
	"fmt"

	"github.com/thingo-iot/thingo/protocol"
)

// Reasons a connection is refused. Each wraps the protocol sentinel of its
// CONNACK code, so protocol.CodeOf and ConnackCode map them.
var (
	ErrBadClientID        = fmt.Errorf("client id does not name the device of the username: %w", protocol.ErrIdentifierRejected)
	ErrBadUsername        = fmt.Errorf("malformed username: %w", protocol.ErrBadUsernameOrPassword)
	ErrUnknownDevice      = fmt.Errorf("unknown device: %w", protocol.ErrBadUsernameOrPassword)
	ErrBadSignature       = fmt.Errorf("bad signature: %w", protocol.ErrBadUsernameOrPassword)
	ErrExpired            = fmt.Errorf("username expired: %w", protocol.ErrBadUsernameOrPassword)
	ErrUnsupportedMethod  = fmt.Errorf("unsupported sign method: %w", protocol.ErrBadUsernameOrPassword)
	ErrCertificate        = fmt.Errorf("client certificate is not the device's: %w", protocol.ErrBadUsernameOrPassword)
	ErrDisabled           = fmt.Errorf("device disabled: %w", protocol.ErrNotAuthorized)
	ErrAuthTypeMismatch   = fmt.Errorf("auth type does not match the product: %w", protocol.ErrNotAuthorized)
	ErrBadProtocolVersion = fmt.Errorf("protocol level not supported: %w", protocol.ErrBadProtocolVersion)
)

// Error is the error Authenticate returns: the CONNACK code to answer with
// and the reason, which wraps one of this package's sentinel errors (or the
// DeviceSource's error for internal failures, code 0x03).
type Error struct {
	Code protocol.ConnackCode
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("connack 0x%02x: %v", byte(e.Code), e.Err)
}

// Unwrap returns the reason.
func (e *Error) Unwrap() error { return e.Err }

// ConnackCode returns the CONNACK return code for the refusal.
func (e *Error) ConnackCode() byte { return byte(e.Code) }

// refuse wraps reason into an *Error with the code its chain carries.
func refuse(reason error) *Error {
	return &Error{Code: protocol.CodeOf(reason), Err: reason}
}

// ConnackCode returns the CONNACK return code for an error of Authenticate:
// 0 for nil, the carried code for errors that have one, and 0x03 (server
// unavailable) for anything else.
func ConnackCode(err error) byte {
	return byte(protocol.CodeOf(err))
}
