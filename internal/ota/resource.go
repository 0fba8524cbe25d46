package ota

import (
	"context"
	"errors"
	"regexp"
	"time"
)

// Errors of resource management.
var (
	ErrResourceNotFound = errors.New("resource not found")
	ErrUploadNotFound   = errors.New("resource upload not found")
	ErrNoResourceStore  = errors.New("resource management is not available on this server")
)

// States of a resource on a device (DeviceResource.State).
const (
	ResourcePending     = "pending"     // pushed while the device was unreachable; re-sent on its next report_version
	ResourcePushed      = "pushed"      // update_resource sent
	ResourceDownloading = "downloading" // the device reported progress
	ResourceDone        = "done"        // the device holds it
	ResourceFailed      = "failed"      // the device reported a failure
	ResourceDeleting    = "deleting"    // del_resource sent
	ResourceDeleteFail  = "delete_failed"
)

// States of a device upload (ResourceUpload.State).
const (
	UploadRequested = "requested" // URL handed out
	UploadDone      = "done"      // file stored and verified
	UploadFailed    = "failed"
)

// DeviceResource is one file a device holds or is being sent
// (PROTOCOL.md §9, §10).
type DeviceResource struct {
	ProductID  string
	DeviceName string
	Name       string
	Type       string // FILE, AUDIO, VIDEO, ...
	Version    string
	MD5        string // of the pushed file; "" for files only reported by the device
	Size       int64
	BlobKey    string
	State      string
	Percent    int64
	ResultCode int64
	ResultMsg  string
	UpdatedAt  time.Time
}

// ResourceUpload is a file a device uploads to the platform (request_url).
type ResourceUpload struct {
	Token      string
	ProductID  string
	DeviceName string
	Name       string
	Type       string
	Version    string
	BlobKey    string
	State      string
	MD5        string
	Size       int64
	ResultCode int64
	ResultMsg  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// DownloadURL is a signed link to the stored file, set by
	// Service.DeviceUploads for done uploads.
	DownloadURL string
}

// ResourceStore persists device resources and uploads. Implemented by
// internal/store/sqlstore.
type ResourceStore interface {
	// PutDeviceResource inserts or replaces the device's entry for r.Name;
	// a missing device is registry.ErrDeviceNotFound.
	PutDeviceResource(ctx context.Context, r DeviceResource) error
	// GetDeviceResource returns an entry or ErrResourceNotFound.
	GetDeviceResource(ctx context.Context, productID, deviceName, name string) (DeviceResource, error)
	// ListDeviceResources lists the device's entries by name.
	ListDeviceResources(ctx context.Context, productID, deviceName string) ([]DeviceResource, error)
	// DeleteDeviceResource removes an entry; a missing one is no error.
	DeleteDeviceResource(ctx context.Context, productID, deviceName, name string) error
	// PutResourceUpload inserts or replaces an upload by token.
	PutResourceUpload(ctx context.Context, u ResourceUpload) error
	// GetResourceUpload returns an upload or ErrUploadNotFound.
	GetResourceUpload(ctx context.Context, token string) (ResourceUpload, error)
	// ListResourceUploads lists the device's uploads, newest first.
	ListResourceUploads(ctx context.Context, productID, deviceName string) ([]ResourceUpload, error)
}

var (
	resourceNameRe = regexp.MustCompile(`^[A-Za-z0-9_\-][A-Za-z0-9._\-]{0,63}$`)
	resourceTypeRe = regexp.MustCompile(`^[A-Za-z0-9_]{1,16}$`)
)

func checkResourceName(field, name string) error {
	if !resourceNameRe.MatchString(name) || name == "." || name == ".." {
		return &InvalidError{field, "must be 1-64 characters of letters, digits and . _ - (not starting with .)"}
	}
	return nil
}

// ResourceKey is the blob key of a resource file operators upload.
func ResourceKey(productID, name, version string) string {
	return "resources/files/" + productID + "/" + name + "/" + version
}

// resourceUploadKey is the blob key of a file a device uploads.
func resourceUploadKey(productID, deviceName, token string) string {
	return "resources/uploads/" + productID + "/" + deviceName + "/" + token
}
