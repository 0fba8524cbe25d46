package registry

import (
	"context"
	"errors"
	"time"
)

// Errors every Store implementation returns (wrapped or not) so the service
// and the API can map them to protocol and API codes with errors.Is.
var (
	ErrNotFound           = errors.New("not found")
	ErrProjectNotFound    = errors.New("project not found")
	ErrProductNotFound    = errors.New("product not found")
	ErrDeviceNotFound     = errors.New("device not found")
	ErrTopicNotFound      = errors.New("topic policy not found")
	ErrProjectExists      = errors.New("project already exists")
	ErrProductExists      = errors.New("product already exists")
	ErrDeviceExists       = errors.New("device already exists")
	ErrTopicExists        = errors.New("topic policy already exists")
	ErrProjectHasProducts = errors.New("project still has products")
	ErrProductHasDevices  = errors.New("product still has devices")
)

// Store persists the registry. Implementations: internal/store/sqlite and
// internal/store/postgres; both pass internal/store/storetest.
//
// Lookups of a missing row return the matching ErrXxxNotFound. Creating a row
// whose key exists returns the matching ErrXxxExists. Times are stored with at
// least millisecond precision and returned in UTC.
type Store interface {
	CreateProject(ctx context.Context, p Project) error
	GetProject(ctx context.Context, id string) (Project, error)
	// ListProjects returns one page and the total matching count.
	ListProjects(ctx context.Context, f ProjectFilter) ([]Project, int64, error)
	UpdateProject(ctx context.Context, p Project) error
	// DeleteProject fails with ErrProjectHasProducts while products exist.
	DeleteProject(ctx context.Context, id string) error
	CountProject(ctx context.Context, id string) (ProjectCounts, error)

	// CreateProduct fails with ErrProjectNotFound when p.ProjectID is unknown.
	CreateProduct(ctx context.Context, p Product) error
	GetProduct(ctx context.Context, id string) (Product, error)
	ListProducts(ctx context.Context, f ProductFilter) ([]Product, int64, error)
	UpdateProduct(ctx context.Context, p Product) error
	// DeleteProduct fails with ErrProductHasDevices while devices exist; it
	// removes the product's topic policies.
	DeleteProduct(ctx context.Context, id string) error
	CountDevices(ctx context.Context, productID string) (int64, error)

	// CreateDevice fails with ErrProductNotFound when the product is unknown.
	CreateDevice(ctx context.Context, d Device) error
	GetDevice(ctx context.Context, productID, name string) (Device, error)
	ListDevices(ctx context.Context, f DeviceFilter) ([]Device, int64, error)
	DeleteDevice(ctx context.Context, productID, name string) error
	SetDeviceEnabled(ctx context.Context, productID, name string, state int) error
	// RecordConnect marks the device online, sets FirstOnline if unset and
	// LastLogin, ClientIP, ProtocolLevel and KeepAlive.
	RecordConnect(ctx context.Context, productID, name string, p Presence) error
	// RecordDisconnect marks the device offline at the given time.
	RecordDisconnect(ctx context.Context, productID, name string, at time.Time) error
	// RecordPresence applies changes in order, in one transaction, each as
	// RecordConnect or RecordDisconnect would. A change of an unknown device
	// is skipped: it fails neither the call nor the other changes.
	RecordPresence(ctx context.Context, changes []PresenceChange) error
	// ResetPresence marks every device offline (used at startup of the single
	// node, whose connections are all gone).
	ResetPresence(ctx context.Context, at time.Time) error
	// DeviceStats counts devices of a project, optionally only some products.
	DeviceStats(ctx context.Context, projectID string, productIDs []string, now time.Time) (DeviceStats, error)

	CreateTopicPolicy(ctx context.Context, t TopicPolicy) error
	GetTopicPolicy(ctx context.Context, productID, name string) (TopicPolicy, error)
	ListTopicPolicies(ctx context.Context, productID string) ([]TopicPolicy, error)
	// UpdateTopicPolicy renames and/or changes privilege of oldName.
	UpdateTopicPolicy(ctx context.Context, productID, oldName string, t TopicPolicy) error
	DeleteTopicPolicy(ctx context.Context, productID, name string) error

	Close() error
}

// PresenceChange is one connect or disconnect of a device for
// Store.RecordPresence.
type PresenceChange struct {
	ProductID string
	Name      string
	// Online is true for a connect (recorded as RecordConnect records
	// Presence) and false for a disconnect (recorded as RecordDisconnect
	// records At).
	Online   bool
	Presence Presence  // connects only
	At       time.Time // disconnects only
}
