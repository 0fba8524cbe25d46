// Package tc3 implements Tencent Cloud's TC3-HMAC-SHA256 request signature
// (API 3.0): Sign for clients such as `thingo admin`, Verify for the server.
//
// Verify accepts what the official SDKs really send: the Go SDK signs the
// Host with its port and the service "iotexplorer"; the Node SDK signs the
// host name without the port and uses the first dot-separated label of the
// endpoint as service (e.g. "127" for 127.0.0.1:8080).
package tc3

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the only signature algorithm supported.
const Algorithm = "TC3-HMAC-SHA256"

// MaxSkew is how far the request timestamp may be from the server clock.
const MaxSkew = 5 * time.Minute

// UnsignedPayload is the X-TC-Content-SHA256 value of requests whose body is
// not covered by the signature.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// Verification errors; the API maps each to its AuthFailure code.
var (
	ErrInvalidAuthorization = errors.New("tc3: invalid authorization")
	ErrSecretIDNotFound     = errors.New("tc3: secret id not found")
	ErrSignatureExpire      = errors.New("tc3: signature expired")
	ErrSignatureFailure     = errors.New("tc3: signature mismatch")
)

// Request is what a signature covers.
type Request struct {
	Method      string // "POST" or "GET"
	Host        string // as signed: with or without the port
	Path        string // canonical URI; "" means "/"
	RawQuery    string // canonical query string ("" for POST)
	ContentType string
	Payload     []byte // request body ("" for GET)
	// PayloadHash overrides the hash of Payload when set (hex); used for
	// X-TC-Content-SHA256: UNSIGNED-PAYLOAD.
	PayloadHash string
	Timestamp   int64  // unix seconds
	Service     string // credential scope service, e.g. "iotexplorer"
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// date is the UTC date of a unix timestamp, as used in the credential scope.
func date(ts int64) string {
	return time.Unix(ts, 0).UTC().Format("2006-01-02")
}

// CanonicalRequest returns the canonical request string for the two headers
// the SDKs sign, content-type and host.
func CanonicalRequest(r Request) string {
	path := r.Path
	if path == "" {
		path = "/"
	}
	hash := r.PayloadHash
	if hash == "" {
		hash = sha256Hex(r.Payload)
	}
	return r.Method + "\n" + path + "\n" + r.RawQuery + "\n" +
		"content-type:" + r.ContentType + "\n" + "host:" + r.Host + "\n\n" +
		"content-type;host\n" + hash
}

// StringToSign returns the string to sign for r.
func StringToSign(r Request) string {
	scope := date(r.Timestamp) + "/" + r.Service + "/tc3_request"
	return Algorithm + "\n" + strconv.FormatInt(r.Timestamp, 10) + "\n" + scope + "\n" +
		sha256Hex([]byte(CanonicalRequest(r)))
}

// Signature returns the lowercase hex signature of r with secretKey.
func Signature(secretKey string, r Request) string {
	kDate := hmacSHA256([]byte("TC3"+secretKey), date(r.Timestamp))
	kService := hmacSHA256(kDate, r.Service)
	kSigning := hmacSHA256(kService, "tc3_request")
	return hex.EncodeToString(hmacSHA256(kSigning, StringToSign(r)))
}

// Sign returns the Authorization header value for r.
func Sign(secretID, secretKey string, r Request) string {
	return Algorithm + " Credential=" + secretID + "/" + date(r.Timestamp) + "/" + r.Service +
		"/tc3_request, SignedHeaders=content-type;host, Signature=" + Signature(secretKey, r)
}

// Authorization is a parsed Authorization header.
type Authorization struct {
	SecretID      string
	Date          string // YYYY-MM-DD
	Service       string
	SignedHeaders []string
	Signature     string
}

// ParseAuthorization parses
// "TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request, SignedHeaders=a;b, Signature=HEX".
func ParseAuthorization(h string) (Authorization, error) {
	var a Authorization
	rest, ok := strings.CutPrefix(strings.TrimSpace(h), Algorithm+" ")
	if !ok {
		return a, fmt.Errorf("%w: algorithm must be %s", ErrInvalidAuthorization, Algorithm)
	}
	var cred, signed string
	seen := map[string]bool{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || seen[k] {
			return a, fmt.Errorf("%w: malformed element %q", ErrInvalidAuthorization, part)
		}
		seen[k] = true
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			a.Signature = v
		default:
			return a, fmt.Errorf("%w: unknown element %q", ErrInvalidAuthorization, k)
		}
	}
	scope := strings.Split(cred, "/")
	if len(scope) != 4 || scope[0] == "" || scope[3] != "tc3_request" {
		return a, fmt.Errorf("%w: Credential must be SecretId/Date/Service/tc3_request", ErrInvalidAuthorization)
	}
	a.SecretID, a.Date, a.Service = scope[0], scope[1], scope[2]
	if _, err := time.Parse("2006-01-02", a.Date); err != nil {
		return a, fmt.Errorf("%w: bad credential date %q", ErrInvalidAuthorization, a.Date)
	}
	if signed == "" {
		return a, fmt.Errorf("%w: missing SignedHeaders", ErrInvalidAuthorization)
	}
	a.SignedHeaders = strings.Split(signed, ";")
	if !slices.Contains(a.SignedHeaders, "content-type") || !slices.Contains(a.SignedHeaders, "host") {
		return a, fmt.Errorf("%w: SignedHeaders must include content-type and host", ErrInvalidAuthorization)
	}
	if len(a.Signature) != 64 {
		return a, fmt.Errorf("%w: Signature must be 64 hex characters", ErrInvalidAuthorization)
	}
	if _, err := hex.DecodeString(a.Signature); err != nil {
		return a, fmt.Errorf("%w: Signature must be hex", ErrInvalidAuthorization)
	}
	return a, nil
}

// Verify checks the TC3 signature of an HTTP request whose body has already
// been read into body. secretKey looks up the key of a SecretId. It returns
// the authenticated SecretId, or an error wrapping one of the ErrXxx values.
func Verify(r *http.Request, body []byte, secretKey func(secretID string) (string, bool), now time.Time) (string, error) {
	auth, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return "", err
	}
	tsHeader := r.Header.Get("X-TC-Timestamp")
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: X-TC-Timestamp %q is not unix seconds", ErrInvalidAuthorization, tsHeader)
	}
	key, ok := secretKey(auth.SecretID)
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrSecretIDNotFound, auth.SecretID)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > MaxSkew || d < -MaxSkew {
		return "", fmt.Errorf("%w: timestamp %d is %s away from server time", ErrSignatureExpire, ts, d.Round(time.Second))
	}
	if auth.Date != date(ts) {
		return "", fmt.Errorf("%w: credential date %s does not match timestamp", ErrSignatureFailure, auth.Date)
	}
	if !serviceAllowed(auth.Service, r.Host) {
		return "", fmt.Errorf("%w: credential scope service %q", ErrSignatureFailure, auth.Service)
	}
	want, err := hex.DecodeString(auth.Signature)
	if err != nil {
		return "", fmt.Errorf("%w: Signature must be hex", ErrInvalidAuthorization)
	}
	for _, c := range candidates(r, auth, body, ts) {
		got, _ := hex.DecodeString(Signature(key, c))
		if hmac.Equal(got, want) {
			return auth.SecretID, nil
		}
	}
	return "", ErrSignatureFailure
}

// serviceAllowed accepts "iotexplorer" and, for the Node SDK, the first
// dot-separated label of the endpoint it was configured with.
func serviceAllowed(service, host string) bool {
	if service == "iotexplorer" {
		return true
	}
	first, _, _ := strings.Cut(host, ".")
	return service != "" && service == first
}

// candidates lists the request forms the SDKs may have signed: host with and
// without port, canonical URI "/" and the real path.
func candidates(r *http.Request, auth Authorization, body []byte, ts int64) []Request {
	base := Request{
		Method:      r.Method,
		RawQuery:    r.URL.RawQuery,
		ContentType: strings.TrimSpace(r.Header.Get("Content-Type")),
		Payload:     body,
		Timestamp:   ts,
		Service:     auth.Service,
	}
	if r.Header.Get("X-TC-Content-SHA256") == UnsignedPayload {
		base.PayloadHash = sha256Hex([]byte(UnsignedPayload))
	}
	hosts := []string{r.Host}
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		hosts = append(hosts, h)
	}
	for _, h := range hosts {
		if l := strings.ToLower(h); l != h {
			hosts = append(hosts, l)
		}
	}
	paths := []string{"/"}
	if p := r.URL.EscapedPath(); p != "" && p != "/" {
		paths = append(paths, p)
	}
	var out []Request
	for _, h := range hosts {
		for _, p := range paths {
			c := base
			c.Host, c.Path = h, p
			out = append(out, c)
		}
	}
	return out
}
