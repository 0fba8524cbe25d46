package protocol

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Paths of the device-facing HTTP endpoints (PROTOCOL.md §13.4).
const (
	// PathRegisterOld is the dynamic registration API of the C and Java SDKs.
	PathRegisterOld = "/register/dev"
	// PathRegisterNew is the dynamic registration API of the Python SDK and
	// the device guide.
	PathRegisterNew = "/device/register"
	// PathDevicePublish publishes a message over HTTP as a device.
	PathDevicePublish = "/device/publish"
)

// Headers of the signed device HTTP requests (new dynreg API, publish).
const (
	HeaderAlgorithm = "X-TC-Algorithm"
	HeaderTimestamp = "X-TC-Timestamp"
	HeaderNonce     = "X-TC-Nonce"
	HeaderSignature = "X-TC-Signature"
)

// Encryption types of the registration payload.
const (
	RegisterEncryptionCert = 1 // clientCert + clientKey
	RegisterEncryptionKey  = 2 // psk
)

// Errors of dynamic registration parsing, signing and payload handling.
var (
	ErrMalformedRequest   = errors.New("malformed request")
	ErrRequestSignature   = errors.New("request signature mismatch")
	ErrUnsupportedAlgo    = errors.New("unsupported signature algorithm")
	ErrShortProductSecret = errors.New("product secret shorter than 16 bytes")
	ErrMalformedPayload   = errors.New("malformed registration payload")
)

// payloadIV is the fixed IV of the registration payload: 16 ASCII '0'.
var payloadIV = []byte("0000000000000000")

// OldRegisterRequest is the JSON body of POST /register/dev (PROTOCOL.md
// §13.3). Nonce and Timestamp are JSON numbers (quoted numbers are accepted).
type OldRegisterRequest struct {
	DeviceName string `json:"deviceName"`
	Nonce      int64  `json:"nonce"`
	ProductID  string `json:"productId"`
	Timestamp  int64  `json:"timestamp"`
	Signature  string `json:"signature"`
}

// ParseOldRegisterRequest decodes the body of POST /register/dev. It checks
// only the shape (JSON, integer nonce and timestamp, non-empty names and
// signature); names are validated by the caller.
func ParseOldRegisterRequest(body []byte) (OldRegisterRequest, error) {
	var raw struct {
		DeviceName string      `json:"deviceName"`
		Nonce      json.Number `json:"nonce"`
		ProductID  string      `json:"productId"`
		Timestamp  json.Number `json:"timestamp"`
		Signature  string      `json:"signature"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return OldRegisterRequest{}, fmt.Errorf("%w: %w", ErrMalformedRequest, err)
	}
	nonce, err := strconv.ParseInt(raw.Nonce.String(), 10, 64)
	if err != nil {
		return OldRegisterRequest{}, fmt.Errorf("%w: nonce: %w", ErrMalformedRequest, err)
	}
	ts, err := strconv.ParseInt(raw.Timestamp.String(), 10, 64)
	if err != nil {
		return OldRegisterRequest{}, fmt.Errorf("%w: timestamp: %w", ErrMalformedRequest, err)
	}
	if raw.DeviceName == "" || raw.ProductID == "" || raw.Signature == "" {
		return OldRegisterRequest{}, fmt.Errorf("%w: missing field", ErrMalformedRequest)
	}
	return OldRegisterRequest{
		DeviceName: raw.DeviceName,
		Nonce:      nonce,
		ProductID:  raw.ProductID,
		Timestamp:  ts,
		Signature:  raw.Signature,
	}, nil
}

// StringToSign returns `deviceName=%s&nonce=%d&productId=%s&timestamp=%d`.
func (r OldRegisterRequest) StringToSign() string {
	return fmt.Sprintf("deviceName=%s&nonce=%d&productId=%s&timestamp=%d",
		r.DeviceName, r.Nonce, r.ProductID, r.Timestamp)
}

// SignOldRegister returns the signature of r: base64 of the lowercase hex
// HMAC-SHA1 of r.StringToSign(), keyed with the product secret string.
func SignOldRegister(productSecret string, r OldRegisterRequest) string {
	return base64.StdEncoding.EncodeToString([]byte(oldRegisterHex(productSecret, r)))
}

func oldRegisterHex(productSecret string, r OldRegisterRequest) string {
	m := hmac.New(sha1.New, []byte(productSecret))
	m.Write([]byte(r.StringToSign()))
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyOldRegister checks r.Signature in constant time; the hex inside the
// base64 is compared case-insensitively.
func VerifyOldRegister(productSecret string, r OldRegisterRequest) error {
	got, err := base64.StdEncoding.DecodeString(r.Signature)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", ErrRequestSignature)
	}
	want := oldRegisterHex(productSecret, r)
	if !hmac.Equal(bytes.ToLower(got), []byte(want)) {
		return ErrRequestSignature
	}
	return nil
}

// OldRegisterReply is the reply of POST /register/dev: Code 0 and the
// encrypted payload on success, Code != 0 and Message on error.
type OldRegisterReply struct {
	Code      int    `json:"code"`
	Message   string `json:"message"`
	Len       int    `json:"len,omitempty"`
	Payload   string `json:"payload,omitempty"`
	RequestID string `json:"requestId"`
}

// NewRegisterRequest is the JSON body of POST /device/register.
type NewRegisterRequest struct {
	ProductID  string `json:"ProductId"`
	DeviceName string `json:"DeviceName"`
}

// ParseNewRegisterRequest decodes the body of POST /device/register.
func ParseNewRegisterRequest(body []byte) (NewRegisterRequest, error) {
	var r NewRegisterRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return NewRegisterRequest{}, fmt.Errorf("%w: %w", ErrMalformedRequest, err)
	}
	if r.ProductID == "" || r.DeviceName == "" {
		return NewRegisterRequest{}, fmt.Errorf("%w: missing field", ErrMalformedRequest)
	}
	return r, nil
}

// NewRegisterReply is the reply envelope of the new API (and of
// /device/publish, which carries only RequestID or Error).
type NewRegisterReply struct {
	Response NewRegisterResponse `json:"Response"`
}

// NewRegisterResponse is the body of NewRegisterReply.
type NewRegisterResponse struct {
	Error     *ReplyError `json:"Error,omitempty"`
	Len       int         `json:"Len,omitempty"`
	Payload   string      `json:"Payload,omitempty"`
	RequestID string      `json:"RequestId"`
}

// ReplyError is the error of a new-API reply.
type ReplyError struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

// PublishRequest is the JSON body of POST /device/publish (PROTOCOL.md
// §13.4), signed like the new dynreg API with the device secret string.
type PublishRequest struct {
	ProductID  string `json:"ProductId"`
	DeviceName string `json:"DeviceName"`
	TopicName  string `json:"TopicName"`
	Payload    string `json:"Payload"`
	Qos        int    `json:"Qos"`
}

// ParsePublishRequest decodes the body of POST /device/publish.
func ParsePublishRequest(body []byte) (PublishRequest, error) {
	var r PublishRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return PublishRequest{}, fmt.Errorf("%w: %w", ErrMalformedRequest, err)
	}
	if r.ProductID == "" || r.DeviceName == "" || r.TopicName == "" {
		return PublishRequest{}, fmt.Errorf("%w: missing field", ErrMalformedRequest)
	}
	if r.Qos != 0 && r.Qos != 1 {
		return PublishRequest{}, fmt.Errorf("%w: qos %d", ErrMalformedRequest, r.Qos)
	}
	return r, nil
}

// HTTPSignParams are the parts of a signed device HTTP request (new dynreg
// API and /device/publish). Timestamp and Nonce are kept as sent, since the
// signature covers their exact text.
type HTTPSignParams struct {
	Method    string // "POST"
	Host      string // the Host the device addressed
	Path      string // e.g. PathRegisterNew
	Algorithm string // hmacsha256 or hmacsha1, any case
	Timestamp string // unix seconds
	Nonce     string
	Body      []byte
}

// HTTPSignParamsFromRequest collects the signing parts of r; body is the
// already-read request body. It also returns the X-TC-Signature value. It
// fails when a header is missing or the timestamp or nonce is not an integer.
func HTTPSignParamsFromRequest(r *http.Request, body []byte) (HTTPSignParams, string, error) {
	p := HTTPSignParams{
		Method:    r.Method,
		Host:      r.Host,
		Path:      r.URL.Path,
		Algorithm: r.Header.Get(HeaderAlgorithm),
		Timestamp: r.Header.Get(HeaderTimestamp),
		Nonce:     r.Header.Get(HeaderNonce),
		Body:      body,
	}
	sig := r.Header.Get(HeaderSignature)
	if p.Algorithm == "" || p.Timestamp == "" || p.Nonce == "" || sig == "" {
		return HTTPSignParams{}, "", fmt.Errorf("%w: missing signature header", ErrMalformedRequest)
	}
	if _, err := p.Time(); err != nil {
		return HTTPSignParams{}, "", err
	}
	if _, err := strconv.ParseInt(p.Nonce, 10, 64); err != nil {
		return HTTPSignParams{}, "", fmt.Errorf("%w: nonce: %w", ErrMalformedRequest, err)
	}
	return p, sig, nil
}

// SetHeaders sets the signature headers on h (device side).
func (p HTTPSignParams) SetHeaders(h http.Header, signature string) {
	h.Set(HeaderAlgorithm, p.Algorithm)
	h.Set(HeaderTimestamp, p.Timestamp)
	h.Set(HeaderNonce, p.Nonce)
	h.Set(HeaderSignature, signature)
}

// Time parses the timestamp as unix seconds.
func (p HTTPSignParams) Time() (time.Time, error) {
	ts, err := strconv.ParseInt(p.Timestamp, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: timestamp: %w", ErrMalformedRequest, err)
	}
	return time.Unix(ts, 0), nil
}

// StringToSign returns
// `{method}\n{host}\n{path}\n\n{algorithm lower}\n{timestamp}\n{nonce}\n{hex sha256(body)}`.
func (p HTTPSignParams) StringToSign() string {
	sum := sha256.Sum256(p.Body)
	return strings.Join([]string{
		p.Method, p.Host, p.Path, "",
		strings.ToLower(p.Algorithm), p.Timestamp, p.Nonce,
		hex.EncodeToString(sum[:]),
	}, "\n")
}

func httpMAC(secret string, p HTTPSignParams) ([]byte, error) {
	var h func() hash.Hash
	switch strings.ToLower(p.Algorithm) {
	case MethodHMACSHA256:
		h = sha256.New
	case MethodHMACSHA1:
		h = sha1.New
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlgo, p.Algorithm)
	}
	m := hmac.New(h, []byte(secret))
	m.Write([]byte(p.StringToSign()))
	return m.Sum(nil), nil
}

// SignHTTP returns the X-TC-Signature of p: base64 of the raw HMAC keyed with
// secret (the product secret for registration, the device secret string for
// publish).
func SignHTTP(secret string, p HTTPSignParams) (string, error) {
	mac, err := httpMAC(secret, p)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(mac), nil
}

// VerifyHTTP checks signature against p in constant time. When p.Host carries
// a port, the host without the port is accepted too (devices sign the host
// name they were configured with).
func VerifyHTTP(secret string, p HTTPSignParams, signature string) error {
	got, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", ErrRequestSignature)
	}
	hosts := []string{p.Host}
	if h, _, err := net.SplitHostPort(p.Host); err == nil && h != p.Host {
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		hosts = append(hosts, h)
	}
	ok := false
	for _, host := range hosts {
		q := p
		q.Host = host
		want, err := httpMAC(secret, q)
		if err != nil {
			return err
		}
		if hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		return ErrRequestSignature
	}
	return nil
}

// RegisterPayload is the plaintext of the registration reply's payload.
type RegisterPayload struct {
	EncryptionType int    `json:"encryptionType"`
	PSK            string `json:"psk,omitempty"`
	ClientCert     string `json:"clientCert,omitempty"`
	ClientKey      string `json:"clientKey,omitempty"`
}

// SealRegisterPayload marshals p and encrypts it with EncryptRegisterPayload.
// It returns the base64 payload and the plaintext length (the reply's Len).
func SealRegisterPayload(productSecret string, p RegisterPayload) (string, int, error) {
	plain, err := json.Marshal(p)
	if err != nil {
		return "", 0, fmt.Errorf("marshal registration payload: %w", err)
	}
	enc, err := EncryptRegisterPayload(productSecret, plain)
	if err != nil {
		return "", 0, err
	}
	return enc, len(plain), nil
}

// OpenRegisterPayload decrypts and decodes a registration payload.
func OpenRegisterPayload(productSecret, payload string) (RegisterPayload, error) {
	plain, err := DecryptRegisterPayload(productSecret, payload)
	if err != nil {
		return RegisterPayload{}, err
	}
	var p RegisterPayload
	if err := json.Unmarshal(plain, &p); err != nil {
		return RegisterPayload{}, fmt.Errorf("%w: %w", ErrMalformedPayload, err)
	}
	return p, nil
}

func payloadBlock(productSecret string) (cipher.Block, error) {
	if len(productSecret) < aes.BlockSize {
		return nil, ErrShortProductSecret
	}
	b, err := aes.NewCipher([]byte(productSecret[:aes.BlockSize]))
	if err != nil {
		return nil, fmt.Errorf("aes key: %w", err)
	}
	return b, nil
}

// EncryptRegisterPayload encrypts plaintext with AES-128-CBC (key = first 16
// bytes of the product secret, IV = 16 ASCII '0') after zero padding with 1
// to 16 NUL bytes (never PKCS7: the C SDK relies on a trailing NUL), and
// returns it base64-encoded.
func EncryptRegisterPayload(productSecret string, plaintext []byte) (string, error) {
	b, err := payloadBlock(productSecret)
	if err != nil {
		return "", err
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := make([]byte, len(plaintext)+pad)
	copy(buf, plaintext)
	cipher.NewCBCEncrypter(b, payloadIV).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// DecryptRegisterPayload reverses EncryptRegisterPayload, removing the
// trailing NUL padding.
func DecryptRegisterPayload(productSecret, payload string) ([]byte, error) {
	b, err := payloadBlock(productSecret)
	if err != nil {
		return nil, err
	}
	buf, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedPayload, err)
	}
	if len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: length %d is not a multiple of the block size", ErrMalformedPayload, len(buf))
	}
	cipher.NewCBCDecrypter(b, payloadIV).CryptBlocks(buf, buf)
	return bytes.TrimRight(buf, "\x00"), nil
}
