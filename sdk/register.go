package sdk

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

// ErrRegisterRefused is wrapped by the *RegisterError of a registration the
// platform refused.
var ErrRegisterRefused = errors.New("sdk: registration refused")

// RegisterError is a registration refused by the platform with an error code
// (PROTOCOL.md §4), e.g. "UnauthorizedOperation.DeviceHasAlreadyBindGateway".
type RegisterError struct {
	Code    string
	Message string
}

func (e *RegisterError) Error() string {
	return fmt.Sprintf("sdk: registration refused: %s: %s", e.Code, e.Message)
}

func (e *RegisterError) Unwrap() error { return ErrRegisterRefused }

// RegisterConfig configures a dynamic registration (PROTOCOL.md §4, the new
// API of §13.3: POST /device/register).
type RegisterConfig struct {
	// BaseURL is the device HTTP endpoint, e.g. "http://host:8080".
	BaseURL string
	// ProductID and ProductSecret identify the product; dynamic registration
	// must be enabled on it.
	ProductID, ProductSecret string
	// DeviceName is the name to register.
	DeviceName string
	// SignMethod is "hmacsha256" (default) or "hmacsha1".
	SignMethod string
	// HTTPClient sends the request (default http.DefaultClient).
	HTTPClient *http.Client
}

// Registration is the credential a successful registration returned: a
// device secret (key products) or a certificate and its private key
// (certificate products).
type Registration struct {
	ProductID, ProductSecret, DeviceName string
	// DeviceSecret is the PSK of a key device.
	DeviceSecret string
	// CertPEM and KeyPEM are the certificate and key of a certificate device.
	CertPEM, KeyPEM string
}

// Register registers a device with the product secret and returns its
// credential. Refusals are *RegisterError.
func Register(ctx context.Context, cfg RegisterConfig) (Registration, error) {
	u, err := cfg.baseURL()
	if err != nil {
		return Registration{}, err
	}
	method := cfg.SignMethod
	if method == "" {
		method = protocol.MethodHMACSHA256
	}
	body, err := json.Marshal(protocol.NewRegisterRequest{ProductID: cfg.ProductID, DeviceName: cfg.DeviceName})
	if err != nil {
		return Registration{}, fmt.Errorf("sdk: register: %w", err)
	}
	p := protocol.HTTPSignParams{
		Method: http.MethodPost, Host: u.Host, Path: protocol.PathRegisterNew, Algorithm: method,
		Timestamp: strconv.FormatInt(time.Now().Unix(), 10), Nonce: strconv.FormatInt(nonce(), 10), Body: body,
	}
	sig, err := protocol.SignHTTP(cfg.ProductSecret, p)
	if err != nil {
		return Registration{}, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	endpoint := strings.TrimSuffix(u.String(), "/") + protocol.PathRegisterNew
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return Registration{}, fmt.Errorf("sdk: register: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	p.SetHeaders(req.Header, sig)
	raw, err := doHTTP(httpClient(cfg.HTTPClient), req)
	if err != nil {
		return Registration{}, fmt.Errorf("sdk: register: %w", err)
	}
	var rep protocol.NewRegisterReply
	if err := json.Unmarshal(raw, &rep); err != nil {
		return Registration{}, fmt.Errorf("sdk: register: reply %.200q: %w", raw, err)
	}
	if e := rep.Response.Error; e != nil {
		return Registration{}, &RegisterError{Code: e.Code, Message: e.Message}
	}
	return cfg.open(rep.Response.Payload)
}

// baseURL checks the names and returns the parsed BaseURL.
func (cfg RegisterConfig) baseURL() (*url.URL, error) {
	if !protocol.ValidProductID(cfg.ProductID) || !protocol.ValidDeviceName(cfg.DeviceName) {
		return nil, fmt.Errorf("%w: product id %q or device name %q", ErrInvalidConfig, cfg.ProductID, cfg.DeviceName)
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%w: base URL %q", ErrInvalidConfig, cfg.BaseURL)
	}
	return u, nil
}

// open decrypts the payload of a successful registration reply (the same
// in both APIs) into the Registration.
func (cfg RegisterConfig) open(payload string) (Registration, error) {
	pl, err := protocol.OpenRegisterPayload(cfg.ProductSecret, payload)
	if err != nil {
		return Registration{}, fmt.Errorf("sdk: register: %w", err)
	}
	r := Registration{ProductID: cfg.ProductID, ProductSecret: cfg.ProductSecret, DeviceName: cfg.DeviceName}
	switch pl.EncryptionType {
	case protocol.RegisterEncryptionKey:
		r.DeviceSecret = pl.PSK
	case protocol.RegisterEncryptionCert:
		r.CertPEM, r.KeyPEM = pl.ClientCert, pl.ClientKey
	default:
		return Registration{}, fmt.Errorf("sdk: register: %w: encryption type %d", protocol.ErrMalformedPayload, pl.EncryptionType)
	}
	if r.DeviceSecret == "" && (r.CertPEM == "" || r.KeyPEM == "") {
		return Registration{}, fmt.Errorf("sdk: register: %w: empty credential", protocol.ErrMalformedPayload)
	}
	return r, nil
}

// DeviceInfo returns the registration as device_info.json content.
// Certificate devices refer to "<name>_cert.crt" and "<name>_private.key"
// (written by Save next to the JSON file).
func (r Registration) DeviceInfo() DeviceInfo {
	d := DeviceInfo{ProductID: r.ProductID, ProductSecret: r.ProductSecret, DeviceName: r.DeviceName}
	if r.DeviceSecret != "" {
		d.AuthMode = AuthModeKey
		d.Key.DeviceSecret = r.DeviceSecret
	} else {
		d.AuthMode = AuthModeCert
		d.Cert = CertDeviceInfo{CertFile: r.DeviceName + "_cert.crt", KeyFile: r.DeviceName + "_private.key"}
	}
	return d
}

// Save persists the registration as the device_info.json at path (mode
// 0600), plus the certificate and key files next to it for certificate
// devices, and returns the saved DeviceInfo (its Config resolves the
// certificate files).
func (r Registration) Save(path string) (DeviceInfo, error) {
	d := r.DeviceInfo()
	d.dir = filepath.Dir(path)
	if d.AuthMode == AuthModeCert {
		if err := os.WriteFile(d.resolve(d.Cert.CertFile), []byte(r.CertPEM), 0o600); err != nil {
			return DeviceInfo{}, fmt.Errorf("sdk: write certificate: %w", err)
		}
		if err := os.WriteFile(d.resolve(d.Cert.KeyFile), []byte(r.KeyPEM), 0o600); err != nil {
			return DeviceInfo{}, fmt.Errorf("sdk: write private key: %w", err)
		}
	}
	if err := d.Save(path); err != nil {
		return DeviceInfo{}, err
	}
	return d, nil
}

// nonce returns a random positive 31-bit integer, as the SDKs send.
func nonce() int64 {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return int64(binary.BigEndian.Uint32(b[:])>>1) + 1
}

func httpClient(hc *http.Client) *http.Client {
	if hc == nil {
		return http.DefaultClient
	}
	return hc
}

// doHTTP sends req and returns the body of a 200 reply (at most 1 MiB).
func doHTTP(hc *http.Client, req *http.Request) ([]byte, error) {
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read reply: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %.200q", res.StatusCode, b)
	}
	return b, nil
}
