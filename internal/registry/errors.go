package registry

import (
	"errors"
	"fmt"
)

// Errors of the service's business rules (the Store's errors are in store.go).
var (
	// ErrPSKNotSupported: a DefinedPsk was given for a certificate product.
	ErrPSKNotSupported = errors.New("product does not use pre-shared keys")
	// ErrCertUnavailable: a certificate product needs a CertIssuer and none
	// was configured.
	ErrCertUnavailable = errors.New("no certificate issuer configured")
	// ErrTopicLimit: the product already has MaxTopicPolicies custom topics.
	ErrTopicLimit = errors.New("too many topic policies")
)

// InvalidError reports a request value that breaks a rule. Field is the API
// parameter name (e.g. "DeviceName"), so the API can answer
// InvalidParameterValue naming it.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
