package protocol

import "errors"

// ConnackCode is the return code of an MQTT 3.1.1 CONNACK (PROTOCOL.md §1.4).
type ConnackCode byte

// CONNACK return codes.
const (
	ConnackAccepted              ConnackCode = 0x00
	ConnackBadProtocolVersion    ConnackCode = 0x01 // MQTT 5 or unknown protocol level
	ConnackIdentifierRejected    ConnackCode = 0x02 // client id malformed or not {pid}{dn} of the username
	ConnackServerUnavailable     ConnackCode = 0x03 // overloaded, draining, or an internal failure
	ConnackBadUsernameOrPassword ConnackCode = 0x04 // bad signature, unknown device, expired, bad method
	ConnackNotAuthorized         ConnackCode = 0x05 // disabled device, auth-type mismatch, rate limit
)

// String names the code.
func (c ConnackCode) String() string {
	switch c {
	case ConnackAccepted:
		return "accepted"
	case ConnackBadProtocolVersion:
		return "unacceptable protocol version"
	case ConnackIdentifierRejected:
		return "identifier rejected"
	case ConnackServerUnavailable:
		return "server unavailable"
	case ConnackBadUsernameOrPassword:
		return "bad user name or password"
	case ConnackNotAuthorized:
		return "not authorized"
	default:
		return "unknown connack code"
	}
}

// codeError is a sentinel error that carries its CONNACK code.
type codeError struct {
	code ConnackCode
	msg  string
}

func (e *codeError) Error() string { return e.msg }

// ConnackCode returns the CONNACK code the error maps to.
func (e *codeError) ConnackCode() byte { return byte(e.code) }

// Sentinel errors, one per refusing CONNACK code. Errors of this package
// wrap them; test with errors.Is and map with CodeOf.
var (
	ErrBadProtocolVersion    error = &codeError{ConnackBadProtocolVersion, "unacceptable protocol version"}
	ErrIdentifierRejected    error = &codeError{ConnackIdentifierRejected, "identifier rejected"}
	ErrServerUnavailable     error = &codeError{ConnackServerUnavailable, "server unavailable"}
	ErrBadUsernameOrPassword error = &codeError{ConnackBadUsernameOrPassword, "bad user name or password"}
	ErrNotAuthorized         error = &codeError{ConnackNotAuthorized, "not authorized"}
)

// CodeOf returns the CONNACK code for err: ConnackAccepted for nil, the code
// of the first error in err's chain that has a ConnackCode() byte method,
// and ConnackServerUnavailable for any other error (an internal failure must
// not look like bad credentials to the device).
func CodeOf(err error) ConnackCode {
	if err == nil {
		return ConnackAccepted
	}
	var c interface{ ConnackCode() byte }
	if errors.As(err, &c) {
		return ConnackCode(c.ConnackCode())
	}
	return ConnackServerUnavailable
}
