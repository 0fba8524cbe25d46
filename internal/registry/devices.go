package registry

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// ErrBadCertificate: the CertIssuer returned something that is not a PEM
// certificate.
var ErrBadCertificate = errors.New("issued certificate is not PEM")

// CreatedDevice is the result of CreateDevice: the stored device plus the
// secrets handed out once.
type CreatedDevice struct {
	Device  Device
	PSK     string // key products: base64 PSK
	CertPEM string // certificate products
	KeyPEM  string // certificate products; never stored
}

// CreateDevice creates a device. On a key product it uses definedPSK when
// given (standard base64 of 8..64 bytes) or generates base64(16 random
// bytes); on a certificate product it issues a certificate and key.
func (s *Service) CreateDevice(ctx context.Context, productID, name, definedPSK string) (CreatedDevice, error) {
	if !ValidDeviceName(name) {
		return CreatedDevice{}, invalid("DeviceName", "must match [a-zA-Z0-9:_-]{1,%d}", MaxDeviceNameLen)
	}
	p, err := s.store.GetProduct(ctx, productID)
	if err != nil {
		return CreatedDevice{}, fmt.Errorf("create device: %w", err)
	}
	d := newDevice(productID, name, s.clock())
	out := CreatedDevice{}
	switch p.EncryptionType {
	case EncryptionCert:
		if definedPSK != "" {
			return CreatedDevice{}, fmt.Errorf("create device %s/%s: %w", productID, name, ErrPSKNotSupported)
		}
		if s.issuer == nil {
			return CreatedDevice{}, fmt.Errorf("create device %s/%s: %w", productID, name, ErrCertUnavailable)
		}
		// Refuse duplicates before issuing a certificate for nothing.
		if _, err := s.store.GetDevice(ctx, productID, name); err == nil {
			return CreatedDevice{}, fmt.Errorf("create device %s/%s: %w", productID, name, ErrDeviceExists)
		} else if !errors.Is(err, ErrDeviceNotFound) && !errors.Is(err, ErrNotFound) {
			return CreatedDevice{}, fmt.Errorf("create device %s/%s: %w", productID, name, err)
		}
		certPEM, keyPEM, err := s.issuer.IssueDeviceCert(productID, name)
		if err != nil {
			return CreatedDevice{}, fmt.Errorf("issue certificate for %s/%s: %w", productID, name, err)
		}
		sum, err := CertSHA256(certPEM)
		if err != nil {
			return CreatedDevice{}, err
		}
		d.CertPEM, d.CertSHA256 = certPEM, sum
		out.CertPEM, out.KeyPEM = certPEM, keyPEM
	default:
		psk := definedPSK
		if psk != "" {
			if err := checkPSK(psk); err != nil {
				return CreatedDevice{}, err
			}
		} else if psk, err = newPSK(); err != nil {
			return CreatedDevice{}, err
		}
		sealed, err := s.sealer.Seal([]byte(psk))
		if err != nil {
			return CreatedDevice{}, fmt.Errorf("seal psk: %w", err)
		}
		d.SealedPSK = sealed
		out.PSK = psk
	}
	if err := s.store.CreateDevice(ctx, d); err != nil {
		return CreatedDevice{}, fmt.Errorf("create device %s/%s: %w", productID, name, err)
	}
	out.Device = d
	return out, nil
}

// DefaultLogLevel is the log level of a new device (PROTOCOL.md §13.9:
// 1 = error).
const DefaultLogLevel = 1

// newDevice is a new, enabled device with the default log level.
func newDevice(productID, name string, now time.Time) Device {
	return Device{ProductID: productID, Name: name, EnableState: Enabled, LogLevel: DefaultLogLevel, CreatedAt: now}
}

// CertSHA256 returns the lowercase hex SHA-256 of the DER of the first
// certificate in certPEM.
func CertSHA256(certPEM string) (string, error) {
	rest := []byte(certPEM)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return "", ErrBadCertificate
		}
		if b.Type == "CERTIFICATE" {
			sum := sha256.Sum256(b.Bytes)
			return hex.EncodeToString(sum[:]), nil
		}
	}
}

// DeviceDetail is a device with its plain PSK (key devices) and product.
type DeviceDetail struct {
	Device  Device
	Product Product
	PSK     string
}

// GetDevice returns a device, its product and its unsealed PSK.
func (s *Service) GetDevice(ctx context.Context, productID, name string) (DeviceDetail, error) {
	p, err := s.store.GetProduct(ctx, productID)
	if err != nil {
		return DeviceDetail{}, fmt.Errorf("get device %s/%s: %w", productID, name, err)
	}
	d, err := s.store.GetDevice(ctx, productID, name)
	if err != nil {
		return DeviceDetail{}, fmt.Errorf("get device %s/%s: %w", productID, name, err)
	}
	psk, err := s.openPSK(d)
	if err != nil {
		return DeviceDetail{}, err
	}
	return DeviceDetail{Device: d, Product: p, PSK: psk}, nil
}

func (s *Service) openPSK(d Device) (string, error) {
	if len(d.SealedPSK) == 0 {
		return "", nil
	}
	plain, err := s.sealer.Open(d.SealedPSK)
	if err != nil {
		return "", fmt.Errorf("open psk of %s/%s: %w", d.ProductID, d.Name, err)
	}
	return string(plain), nil
}

// ListDevices returns a page of devices (PSKs stay sealed) and the total.
func (s *Service) ListDevices(ctx context.Context, f DeviceFilter) ([]Device, int64, error) {
	ds, total, err := s.store.ListDevices(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("list devices: %w", err)
	}
	return ds, total, nil
}

// DeleteDevice deletes a device. Callers should disconnect it afterwards.
func (s *Service) DeleteDevice(ctx context.Context, productID, name string) error {
	if err := s.store.DeleteDevice(ctx, productID, name); err != nil {
		return fmt.Errorf("delete device %s/%s: %w", productID, name, err)
	}
	return nil
}

// SetDeviceEnabled sets a device's enable state (Enabled or Disabled).
// Callers should disconnect a device they disable.
func (s *Service) SetDeviceEnabled(ctx context.Context, productID, name string, state int) error {
	if state != Enabled && state != Disabled {
		return invalid("Status", "must be 0 (disable) or 1 (enable)")
	}
	if err := s.store.SetDeviceEnabled(ctx, productID, name, state); err != nil {
		return fmt.Errorf("set enable state of %s/%s: %w", productID, name, err)
	}
	return nil
}

// DeviceCredentials is what device authentication needs about a device.
type DeviceCredentials struct {
	ProductID      string
	DeviceName     string
	EncryptionType string // EncryptionCert or EncryptionKey
	ProductType    int64  // ProductTypeNormal or ProductTypeGateway
	Enabled        bool
	// PSK is the base64 device secret (key products); Key is its decoded
	// bytes, the HMAC and TLS-PSK key.
	PSK        string
	Key        []byte
	CertSHA256 string // certificate products
	Topics     []TopicPolicy
}

// DeviceAuth returns the credentials, enable state and custom topics of a
// device, for the broker's authentication at CONNECT.
func (s *Service) DeviceAuth(ctx context.Context, productID, name string) (DeviceCredentials, error) {
	det, err := s.GetDevice(ctx, productID, name)
	if err != nil {
		return DeviceCredentials{}, err
	}
	topics, err := s.store.ListTopicPolicies(ctx, productID)
	if err != nil {
		return DeviceCredentials{}, fmt.Errorf("topic policies of %s: %w", productID, err)
	}
	c := DeviceCredentials{
		ProductID:      productID,
		DeviceName:     name,
		EncryptionType: det.Product.EncryptionType,
		ProductType:    det.Product.ProductType,
		Enabled:        det.Device.EnableState == Enabled,
		PSK:            det.PSK,
		CertSHA256:     det.Device.CertSHA256,
		Topics:         topics,
	}
	if det.PSK != "" {
		key, err := base64.StdEncoding.DecodeString(det.PSK)
		if err != nil {
			return DeviceCredentials{}, fmt.Errorf("psk of %s/%s is not base64: %w", productID, name, err)
		}
		c.Key = key
	}
	return c, nil
}

// RecordConnect records that a device connected.
func (s *Service) RecordConnect(ctx context.Context, productID, name string, p Presence) error {
	if err := s.store.RecordConnect(ctx, productID, name, p); err != nil {
		return fmt.Errorf("record connect of %s/%s: %w", productID, name, err)
	}
	return nil
}

// RecordDisconnect records that a device disconnected at the given time.
func (s *Service) RecordDisconnect(ctx context.Context, productID, name string, at time.Time) error {
	if err := s.store.RecordDisconnect(ctx, productID, name, at); err != nil {
		return fmt.Errorf("record disconnect of %s/%s: %w", productID, name, err)
	}
	return nil
}

// RecordPresence records connects and disconnects of devices, in order and
// in one store transaction. Changes of unknown devices are skipped.
func (s *Service) RecordPresence(ctx context.Context, changes []PresenceChange) error {
	if len(changes) == 0 {
		return nil
	}
	if err := s.store.RecordPresence(ctx, changes); err != nil {
		return fmt.Errorf("record presence of %d changes: %w", len(changes), err)
	}
	return nil
}

// ResetPresence marks every device offline (at startup of a single node).
func (s *Service) ResetPresence(ctx context.Context) error {
	if err := s.store.ResetPresence(ctx, s.clock()); err != nil {
		return fmt.Errorf("reset presence: %w", err)
	}
	return nil
}

// DeviceStats counts the devices of a project (optionally some products).
func (s *Service) DeviceStats(ctx context.Context, projectID string, productIDs []string) (DeviceStats, error) {
	if _, err := s.store.GetProject(ctx, projectID); err != nil {
		return DeviceStats{}, fmt.Errorf("device stats: %w", err)
	}
	st, err := s.store.DeviceStats(ctx, projectID, productIDs, s.clock())
	if err != nil {
		return DeviceStats{}, fmt.Errorf("device stats of %s: %w", projectID, err)
	}
	return st, nil
}
