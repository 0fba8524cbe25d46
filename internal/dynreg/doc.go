// Package dynreg is the server side of dynamic registration (PROTOCOL.md §4,
// §13.3): a device proves knowledge of its product secret and receives its
// own credentials (psk, or certificate and key), encrypted with the product
// secret.
//
// Two wire APIs share one domain service:
//   - old API, POST /register/dev (C and Java SDKs): JSON body signed inside
//     the body; reply {"code","message","len","payload","requestId"}.
//   - new API, POST /device/register (Python SDK, device guide): JSON body,
//     X-TC-* signature headers; reply {"Response":{...}}.
//
// The registry is reached through the Products interface declared here.
//
// # Rules
//
// A request is refused when its timestamp is more than Config.Window (5
// minutes) off, when its nonce was already used for the product within the
// window, when the client IP or the product exceeds its rate, when dynamic
// registration is off for the product, when the product's registration limit
// is reached, when the product is in pre-created mode and the name is
// unknown, and when the device is already active and re-registration is not
// allowed. An unknown product and a bad signature get the same answer, so a
// request cannot learn whether a product exists without its secret; every
// check that reveals product state runs after the signature check.
//
// The replay cache is in memory and per process: in a cluster, a nonce used
// on one node is not seen by the others. A cluster needs the bus (a shared
// KV with TTL) for this later.
//
// The client IP used for the per-IP limit is the request's RemoteAddr; a
// reverse proxy in front must be accounted for by the caller (for example by
// rewriting RemoteAddr from a trusted header before this handler runs).
//
// # Error codes
//
// Every refusal is logged (slog) and answered with HTTP 200 in the API's own
// envelope: old API `code` (≠ 0) + `message`, new API Response.Error.Code +
// Message.
//
//	refusal                                    old code  new Code
//	malformed body, headers or names           1001      InvalidParameterValue
//	unknown product or bad signature           1002      AuthFailure.SignatureFailure
//	timestamp more than 5 minutes off          1003      AuthFailure.SignatureExpire
//	nonce already used                         1004      AuthFailure.InvalidNonce
//	rate limit (IP or product), cache full     1005      RequestLimitExceeded
//	dynamic registration off for the product   1010      UnauthorizedOperation.DynregDisabled
//	product registration limit reached         1011      LimitExceeded.DeviceRegisterLimit
//	pre-created mode, unknown device name      1012      ResourceNotFound.DeviceNotExist
//	device already active                      1021      FailedOperation.DeviceAlreadyActivated
//	anything else (store failure, ...)         1500      InternalError
//
// A request with a method other than POST gets HTTP 405 without envelope.
package dynreg
