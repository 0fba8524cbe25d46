// Package registry holds projects, products, devices and custom topics: the
// identity side of the platform. It owns the rules (names, ids, secrets) and
// declares the Store it needs; adapters in internal/store implement it.
package registry

import (
	"time"
)

// Auth types of a product (Tencent's EncryptionType).
const (
	EncryptionCert = "1" // X.509 certificate, mutual TLS
	EncryptionKey  = "2" // per-device key (PSK)
)

// Product types.
const (
	ProductTypeNormal  = 0
	ProductTypeGateway = 5
)

// Device enable states (Tencent's EnableState).
const (
	Disabled = 0
	Enabled  = 1
)

// Device status as reported by the API (DeviceInfo.Status).
const (
	StatusOffline     = 0
	StatusOnline      = 1
	StatusNeverOnline = 3
)

// Topic policy privileges (CreateTopicPolicy.Privilege).
const (
	PrivilegePublish   = 1
	PrivilegeSubscribe = 2
	PrivilegeBoth      = 3
)

// Project groups products.
type Project struct {
	ID         string
	Name       string
	Desc       string
	InstanceID string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Product is a kind of device: its auth type, data protocol and network.
type Product struct {
	ID                  string // 10 upper-case letters/digits
	ProjectID           string
	Name                string
	CategoryID          int64
	ProductType         int64  // ProductTypeNormal or ProductTypeGateway
	EncryptionType      string // EncryptionCert or EncryptionKey
	NetType             string
	DataProtocol        int64 // 1 thing model, 2 custom
	Desc                string
	DevStatus           string // "dev" or "released"
	ModuleID            int64
	EnableProductScript string
	BindStrategy        uint64
	Rate                string
	Period              string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Device is one device of a product.
type Device struct {
	ProductID string
	Name      string
	// SealedPSK is the device secret encrypted by the registry's Sealer; the
	// store keeps it opaque. Empty for certificate devices.
	SealedPSK []byte
	// CertPEM is the device certificate issued by Thingo's CA (certificate
	// products only). The private key is handed out once and never stored.
	CertPEM     string
	CertSHA256  string // lowercase hex SHA-256 of the certificate's DER
	EnableState int    // Enabled or Disabled
	LogLevel    int
	Version     string // firmware version the device reported
	CreatedAt   time.Time
	Presence    Presence
}

// Presence is what the platform last saw of a device's connection.
type Presence struct {
	Online        bool
	FirstOnline   time.Time // zero: never connected
	LastLogin     time.Time
	LastLogout    time.Time
	ClientIP      string
	ProtocolLevel int
	KeepAlive     int
}

// Status is the API's view of presence.
func (d Device) Status() int64 {
	switch {
	case d.Presence.Online:
		return StatusOnline
	case d.Presence.FirstOnline.IsZero():
		return StatusNeverOnline
	default:
		return StatusOffline
	}
}

// TopicPolicy is a custom topic `{pid}/{dn}/<Name>` defined on a product.
type TopicPolicy struct {
	ProductID string
	Name      string // the part after `{pid}/${dn}/`, may contain '/'
	Privilege uint64 // PrivilegePublish, PrivilegeSubscribe or PrivilegeBoth
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ProjectFilter selects projects; zero fields match everything.
type ProjectFilter struct {
	ProjectID string
	Name      string // substring
	Offset    int
	Limit     int // 0: no limit
}

// ProductFilter selects products; zero fields match everything.
type ProductFilter struct {
	ProjectID string
	DevStatus string // "" or "all" match every status
	Offset    int
	Limit     int
}

// DeviceFilter selects devices; zero fields match everything.
type DeviceFilter struct {
	ProductID       string
	ProjectID       string
	NameContains    string
	FirmwareVersion string // "None-FirmwareVersion" selects devices with no version
	Offset          int
	Limit           int
}

// DeviceStats counts devices for GetDeviceSumStatistics.
type DeviceStats struct {
	Activated           int64 // devices that connected at least once
	Online              int64
	ActivatedSince1Day  int64 // first online within the last 24 h
	ActiveSince1Day     int64 // logged in within the last 24 h
	ActivatedSince7Days int64
	ActiveSince7Days    int64
	ActivatedPrev7Days  int64 // first online 14..7 days ago
	ActivePrev7Days     int64
}

// ProjectCounts are the aggregate counts shown with a project.
type ProjectCounts struct {
	Products int64
	Devices  int64
}
