package api

import (
	"context"
	"errors"

	"github.com/thingo-iot/thingo/internal/ota"
)

// Resources is the resource (file) management the API serves: Thingo-
// specific actions, implemented by *ota.Service. The configured Firmware
// provides it when it implements this interface.
type Resources interface {
	ResourceUploadURL(ctx context.Context, productID, name, version string) (string, error)
	PushResource(ctx context.Context, in ota.PushInput) ([]ota.DeviceResource, error)
	DeleteDeviceResource(ctx context.Context, productID, deviceName, name string) error
	DeviceResources(ctx context.Context, productID, deviceName string) ([]ota.DeviceResource, error)
	DeviceUploads(ctx context.Context, productID, deviceName string) ([]ota.ResourceUpload, error)
}

// DeviceResourceInfo is one resource a device holds or is being sent.
type DeviceResourceInfo struct {
	DeviceName, ResourceName, ResourceType, ResourceVersion string
	Md5sum                                                  string
	FileSize                                                int64
	Status                                                  string
	Percent, ResultCode                                     int64
	ResultMsg                                               string
	UpdateTime                                              int64
}

// DeviceUploadInfo is one file a device uploaded.
type DeviceUploadInfo struct {
	ResourceToken, ResourceName, ResourceType, ResourceVersion string
	Status, Md5sum                                             string
	FileSize, ResultCode                                       int64
	ResultMsg                                                  string
	CreateTime, UpdateTime                                     int64
	// DownloadUrl is a signed link to the stored file (done uploads only).
	DownloadUrl string `json:",omitempty"`
}

type (
	getResourceUploadURLRequest struct {
		ProductId       *string `required:"true"`
		ResourceName    *string `required:"true"`
		ResourceVersion *string `required:"true"`
	}
	getResourceUploadURLResponse struct{ Url string }

	pushDeviceResourceRequest struct {
		ProductId       *string  `required:"true"`
		DeviceNames     []string `required:"true"`
		ResourceName    *string  `required:"true"`
		ResourceVersion *string  `required:"true"`
		ResourceType    string
	}
	deviceResourcesResponse struct {
		Resources  []DeviceResourceInfo
		TotalCount int64
	}

	deviceResourceRequest struct {
		ProductId    *string `required:"true"`
		DeviceName   *string `required:"true"`
		ResourceName *string `required:"true"`
	}
	resourceDeviceRequest struct {
		ProductId  *string `required:"true"`
		DeviceName *string `required:"true"`
	}
	deviceUploadsResponse struct {
		Uploads    []DeviceUploadInfo
		TotalCount int64
	}
)

// resources returns the configured resource management or an error.
func (h *Handler) resources() (Resources, error) {
	if r, ok := h.ota.(Resources); ok {
		return r, nil
	}
	return nil, newError(codeFailedOperation, "resource management is not available on this server")
}

// resourceErr maps resource errors to API errors.
func resourceErr(err error) error {
	switch {
	case errors.Is(err, ota.ErrResourceNotFound):
		return newError(codeResourceNotFound, "the device has no such resource")
	case errors.Is(err, ota.ErrFileNotUploaded):
		return newError(codeInvalidParameterValue, "the resource file was not uploaded to the GetResourceUploadURL address")
	case errors.Is(err, ota.ErrNoResourceStore):
		return newError(codeFailedOperation, err.Error())
	}
	return otaErr(err)
}

func resourceInfo(r ota.DeviceResource) DeviceResourceInfo {
	return DeviceResourceInfo{
		DeviceName: r.DeviceName, ResourceName: r.Name, ResourceType: r.Type, ResourceVersion: r.Version,
		Md5sum: r.MD5, FileSize: r.Size, Status: r.State, Percent: r.Percent, ResultCode: r.ResultCode,
		ResultMsg: r.ResultMsg, UpdateTime: r.UpdatedAt.Unix(),
	}
}

func (h *Handler) getResourceUploadURL(ctx context.Context, req *getResourceUploadURLRequest) (*getResourceUploadURLResponse, error) {
	res, err := h.resources()
	if err != nil {
		return nil, err
	}
	u, err := res.ResourceUploadURL(ctx, *req.ProductId, *req.ResourceName, *req.ResourceVersion)
	if err != nil {
		return nil, resourceErr(err)
	}
	return &getResourceUploadURLResponse{Url: u}, nil
}

func (h *Handler) pushDeviceResource(ctx context.Context, req *pushDeviceResourceRequest) (*deviceResourcesResponse, error) {
	res, err := h.resources()
	if err != nil {
		return nil, err
	}
	list, err := res.PushResource(ctx, ota.PushInput{
		ProductID: *req.ProductId, DeviceNames: req.DeviceNames, Name: *req.ResourceName,
		Type: req.ResourceType, Version: *req.ResourceVersion,
	})
	if err != nil {
		return nil, resourceErr(err)
	}
	out := &deviceResourcesResponse{Resources: []DeviceResourceInfo{}, TotalCount: int64(len(list))}
	for _, r := range list {
		out.Resources = append(out.Resources, resourceInfo(r))
	}
	return out, nil
}

func (h *Handler) deleteDeviceResource(ctx context.Context, req *deviceResourceRequest) (*emptyResponse, error) {
	res, err := h.resources()
	if err != nil {
		return nil, err
	}
	if err := res.DeleteDeviceResource(ctx, *req.ProductId, *req.DeviceName, *req.ResourceName); err != nil {
		return nil, resourceErr(err)
	}
	return &emptyResponse{}, nil
}

func (h *Handler) describeDeviceResources(ctx context.Context, req *resourceDeviceRequest) (*deviceResourcesResponse, error) {
	res, err := h.resources()
	if err != nil {
		return nil, err
	}
	list, err := res.DeviceResources(ctx, *req.ProductId, *req.DeviceName)
	if err != nil {
		return nil, resourceErr(err)
	}
	out := &deviceResourcesResponse{Resources: []DeviceResourceInfo{}, TotalCount: int64(len(list))}
	for _, r := range list {
		out.Resources = append(out.Resources, resourceInfo(r))
	}
	return out, nil
}

func (h *Handler) describeDeviceResourceUploads(ctx context.Context, req *resourceDeviceRequest) (*deviceUploadsResponse, error) {
	res, err := h.resources()
	if err != nil {
		return nil, err
	}
	list, err := res.DeviceUploads(ctx, *req.ProductId, *req.DeviceName)
	if err != nil {
		return nil, resourceErr(err)
	}
	out := &deviceUploadsResponse{Uploads: []DeviceUploadInfo{}, TotalCount: int64(len(list))}
	for _, u := range list {
		out.Uploads = append(out.Uploads, DeviceUploadInfo{
			ResourceToken: u.Token, ResourceName: u.Name, ResourceType: u.Type, ResourceVersion: u.Version,
			Status: u.State, Md5sum: u.MD5, FileSize: u.Size, ResultCode: u.ResultCode, ResultMsg: u.ResultMsg,
			CreateTime: u.CreatedAt.Unix(), UpdateTime: u.UpdatedAt.Unix(), DownloadUrl: u.DownloadURL,
		})
	}
	return out, nil
}
