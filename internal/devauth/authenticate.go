package devauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/protocol"
)

// Sign-in methods recorded in Identity.Method.
const (
	MethodHMACSHA1   = protocol.MethodHMACSHA1
	MethodHMACSHA256 = protocol.MethodHMACSHA256
	MethodCert       = "cert"
	MethodPSK        = "psk"
)

// DeviceAuth is what authentication needs to know about a device and its
// product.
type DeviceAuth struct {
	ProductID      string
	DeviceName     string
	EncryptionType string // registry.EncryptionCert or registry.EncryptionKey
	ProductType    int64  // registry.ProductTypeGateway grants the $gateway topics
	Enabled        bool
	PSK            string // the device secret in plain base64 (key products)
	CertSHA256     string // hex SHA-256 of the DER certificate Thingo issued (certificate products)
	Topics         []registry.TopicPolicy
}

// DeviceSource looks devices up. A missing product or device is reported
// with an error that wraps registry.ErrNotFound, registry.ErrProductNotFound
// or registry.ErrDeviceNotFound.
type DeviceSource interface {
	DeviceAuth(ctx context.Context, productID, deviceName string) (DeviceAuth, error)
}

// Config configures an Authenticator.
type Config struct {
	Source DeviceSource
	Logger *slog.Logger // nil: discard
	// Now is the clock for username expiry; nil: time.Now.
	Now func() time.Time
}

// Authenticator checks device CONNECTs (PROTOCOL.md §1, §13.1, §13.2). It is
// safe for concurrent use.
type Authenticator struct {
	source DeviceSource
	log    *slog.Logger
	now    func() time.Time
}

// NewAuthenticator returns an Authenticator over cfg.Source.
func NewAuthenticator(cfg Config) *Authenticator {
	a := &Authenticator{source: cfg.Source, log: cfg.Logger, now: cfg.Now}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Authenticate identifies the device of a CONNECT and compiles its ACL. The
// device proves itself by, in this order of precedence: a TLS-PSK identity
// established by the listener, a verified client certificate, or a signed
// password. On failure the error is an *Error carrying the CONNACK code.
func (a *Authenticator) Authenticate(ctx context.Context, req ConnectRequest) (Identity, error) {
	id, err := a.authenticate(ctx, req)
	if err != nil {
		e := refuse(err)
		a.log.LogAttrs(ctx, slog.LevelInfo, "device connect refused",
			slog.String("client_id", req.ClientID), slog.String("remote", req.RemoteAddr),
			slog.Int("connack", int(e.Code)), slog.String("reason", err.Error()))
		return Identity{}, e
	}
	return id, nil
}

func (a *Authenticator) authenticate(ctx context.Context, req ConnectRequest) (Identity, error) {
	if req.ProtocolLevel != 3 && req.ProtocolLevel != 4 {
		return Identity{}, fmt.Errorf("%w: %d", ErrBadProtocolVersion, req.ProtocolLevel)
	}
	pid, dn, ok := protocol.SplitClientID(req.ClientID)
	if !ok {
		return Identity{}, fmt.Errorf("%w: malformed client id %q", ErrBadClientID, req.ClientID)
	}
	var user protocol.Username
	if req.Username != "" {
		u, err := protocol.ParseUsername(req.Username)
		if err != nil {
			return Identity{}, fmt.Errorf("%w: %w", ErrBadUsername, err)
		}
		if u.ClientID() != req.ClientID {
			return Identity{}, fmt.Errorf("%w: client id %q, username names %q", ErrBadClientID, req.ClientID, u.ClientID())
		}
		user = u
	}

	var method string
	switch {
	case req.PSKIdentity != "":
		if req.PSKIdentity != req.ClientID {
			return Identity{}, fmt.Errorf("%w: client id %q, TLS-PSK identity %q", ErrBadClientID, req.ClientID, req.PSKIdentity)
		}
		method = MethodPSK
	case len(req.PeerCertificates) > 0:
		method = MethodCert
	case req.Username == "":
		return Identity{}, fmt.Errorf("%w: no username", ErrBadUsername)
	}

	dev, err := a.source.DeviceAuth(ctx, pid, dn)
	if err != nil {
		if isNotFound(err) {
			return Identity{}, fmt.Errorf("%w: %s/%s", ErrUnknownDevice, pid, dn)
		}
		return Identity{}, fmt.Errorf("look up device %s/%s: %w", pid, dn, err)
	}

	switch method {
	case MethodCert:
		if dev.EncryptionType != registry.EncryptionCert {
			return Identity{}, fmt.Errorf("%w: certificate login to a product of encryption type %q", ErrAuthTypeMismatch, dev.EncryptionType)
		}
		if !certMatches(req.PeerCertificates[0].Raw, dev.CertSHA256) {
			return Identity{}, fmt.Errorf("%w: %s/%s", ErrCertificate, pid, dn)
		}
	case MethodPSK:
		if dev.EncryptionType != registry.EncryptionKey {
			return Identity{}, fmt.Errorf("%w: TLS-PSK login to a product of encryption type %q", ErrAuthTypeMismatch, dev.EncryptionType)
		}
	default:
		if dev.EncryptionType != registry.EncryptionKey {
			return Identity{}, fmt.Errorf("%w: key login to a product of encryption type %q", ErrAuthTypeMismatch, dev.EncryptionType)
		}
		if user.Expired(a.now()) {
			return Identity{}, fmt.Errorf("%w: %d", ErrExpired, user.Expiry)
		}
		m, err := protocol.VerifyPassword(dev.PSK, req.Username, req.Password)
		switch {
		case errors.Is(err, protocol.ErrUnsupportedMethod):
			return Identity{}, fmt.Errorf("%w: %w", ErrUnsupportedMethod, err)
		case errors.Is(err, protocol.ErrBadSecret):
			a.log.LogAttrs(ctx, slog.LevelError, "stored device secret is not base64",
				slog.String("product_id", pid), slog.String("device_name", dn))
			return Identity{}, fmt.Errorf("%w: %w", ErrBadSignature, err)
		case err != nil:
			return Identity{}, fmt.Errorf("%w: %w", ErrBadSignature, err)
		}
		method = m
	}
	// Checked after the credentials so that a refusal for a disabled device
	// is never an oracle for who exists.
	if !dev.Enabled {
		return Identity{}, fmt.Errorf("%w: %s/%s", ErrDisabled, pid, dn)
	}
	gateway := dev.ProductType == registry.ProductTypeGateway
	return Identity{
		ProductID:     pid,
		DeviceName:    dn,
		ClientID:      req.ClientID,
		Method:        method,
		SDKAppID:      user.SDKAppID,
		ProtocolLevel: req.ProtocolLevel,
		Gateway:       gateway,
		ACL:           NewACL(pid, dn, gateway, dev.Topics),
	}, nil
}

func isNotFound(err error) bool {
	return errors.Is(err, registry.ErrNotFound) ||
		errors.Is(err, registry.ErrProductNotFound) ||
		errors.Is(err, registry.ErrDeviceNotFound)
}

// certMatches compares the SHA-256 of a DER certificate with the recorded
// hex digest in constant time.
func certMatches(der []byte, wantHex string) bool {
	want, err := hex.DecodeString(strings.TrimSpace(wantHex))
	if err != nil || len(want) != sha256.Size {
		return false
	}
	got := sha256.Sum256(der)
	return subtle.ConstantTimeCompare(got[:], want) == 1
}
