// Package dynreg is the server side of dynamic registration (PROTOCOL.md §4,
// §13.3): a device proves knowledge of its product secret and receives its
// own credentials (psk, or certificate and key), encrypted with the product
// secret.
//
// Two wire APIs share this one domain service:
//   - old API, POST /register/dev (C and Java SDKs): JSON body signed inside
//     the body; reply {"code","message","len","payload","requestId"}.
//   - new API, POST /device/register (Python SDK, device guide): JSON body,
//     X-TC-* signature headers; reply {"Response":{...}}.
//
// This package knows neither: Service.Register takes a wire-independent
// Request whose Verify checks the signature of the API it came from. The
// HTTP handlers, the error codes of both APIs and the logging of refusals
// live in the device HTTP adapter (internal/devicehttp, RegisterHandler).
//
// The registry is reached through the Products interface declared here;
// dynregtest provides an in-memory one.
//
// # Rules
//
// A request is refused when its timestamp is more than Config.Window (5
// minutes) off, when its nonce was already used for the product within the
// window, when the client IP or the product exceeds its rate, when dynamic
// registration is off for the product, when the product's registration limit
// is reached, when the product is in pre-created mode and the name is
// unknown, and when the device is already active and re-registration is not
// allowed. An unknown product and a bad signature get the same error
// (ErrAuth), so a request cannot learn whether a product exists without its
// secret; every check that reveals product state runs after the signature
// check.
//
// Each refusal wraps one of the package's errors:
//
//	malformed request or names                 ErrInvalidRequest
//	unknown product or bad signature           ErrAuth
//	timestamp more than Config.Window off      ErrTimestamp
//	nonce already used                         ErrNonceReused
//	rate limit (IP or product), cache full     ErrRateLimited
//	dynamic registration off for the product   ErrDisabled
//	product registration limit reached         ErrLimitReached
//	pre-created mode, unknown device name      ErrUnknownDevice
//	device already active                      ErrAlreadyActive
//
// Any other error (a store failure, ...) is internal.
//
// The replay cache is in memory and per process: in a cluster, a nonce used
// on one node is not seen by the others. A cluster needs the bus (a shared
// KV with TTL) for this later.
//
// The client IP used for the per-IP limit is Request.ClientIP, as the
// adapter determined it (the HTTP adapter uses the request's RemoteAddr; a
// reverse proxy in front must be accounted for there).
package dynreg
