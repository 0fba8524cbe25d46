package ota

import (
	"context"
	"errors"
	"fmt"
)

func (s *Service) resources() (ResourceStore, error) {
	if s.res == nil {
		return nil, ErrNoResourceStore
	}
	return s.res, nil
}

// ResourceUploadURL returns a signed link to PUT the file of resource name
// at version for productID; PushResource then sends it to devices.
func (s *Service) ResourceUploadURL(ctx context.Context, productID, name, version string) (string, error) {
	if _, err := s.resources(); err != nil {
		return "", err
	}
	if err := checkResourceName("ResourceName", name); err != nil {
		return "", err
	}
	if err := checkVersion("ResourceVersion", version); err != nil {
		return "", err
	}
	if _, err := s.reg.GetProduct(ctx, productID); err != nil {
		return "", err
	}
	return s.links.UploadURL(ResourceKey(productID, name, version)), nil
}

// PushInput selects a resource file and the devices to send it to.
type PushInput struct {
	ProductID   string
	DeviceNames []string
	Name        string
	Type        string // "" means FILE
	Version     string
}

// PushResource sends update_resource for an uploaded resource file to each
// device and records it; a device that cannot be reached now stays pending
// and gets the push on its next report_version. It returns the entries.
func (s *Service) PushResource(ctx context.Context, in PushInput) ([]DeviceResource, error) {
	res, err := s.resources()
	if err != nil {
		return nil, err
	}
	if err := checkResourceName("ResourceName", in.Name); err != nil {
		return nil, err
	}
	if err := checkVersion("ResourceVersion", in.Version); err != nil {
		return nil, err
	}
	in.Type = orFile(in.Type)
	if !resourceTypeRe.MatchString(in.Type) {
		return nil, &InvalidError{"ResourceType", "must be 1-16 letters, digits or _"}
	}
	if len(in.DeviceNames) == 0 || len(in.DeviceNames) > 1000 {
		return nil, &InvalidError{"DeviceNames", "must list 1-1000 devices"}
	}
	key := ResourceKey(in.ProductID, in.Name, in.Version)
	size, sum, err := s.files.Sum(ctx, key)
	if err != nil {
		return nil, errors.Join(ErrFileNotUploaded, err)
	}
	for _, dn := range in.DeviceNames {
		if _, err := s.reg.GetDevice(ctx, in.ProductID, dn); err != nil {
			return nil, err
		}
	}
	out := make([]DeviceResource, 0, len(in.DeviceNames))
	for _, dn := range in.DeviceNames {
		r := DeviceResource{
			ProductID: in.ProductID, DeviceName: dn, Name: in.Name, Type: in.Type, Version: in.Version,
			MD5: sum, Size: size, BlobKey: key, State: ResourcePending,
		}
		unlock := s.lockDevice(in.ProductID, dn)
		err := s.pushResource(ctx, r, s.clock())
		unlock()
		if err != nil {
			return nil, err
		}
		if r, err = res.GetDeviceResource(ctx, in.ProductID, dn, in.Name); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// DeleteDeviceResource asks the device to delete a resource (del_resource);
// the entry goes when the device confirms. An unreachable device is an
// error and the entry is unchanged.
func (s *Service) DeleteDeviceResource(ctx context.Context, productID, deviceName, name string) error {
	res, err := s.resources()
	if err != nil {
		return err
	}
	defer s.lockDevice(productID, deviceName)()
	r, err := res.GetDeviceResource(ctx, productID, deviceName, name)
	if err != nil {
		return err
	}
	if err := s.sendDelete(ctx, r); err != nil {
		return fmt.Errorf("del_resource to %s/%s: %w", productID, deviceName, err)
	}
	r.State, r.UpdatedAt = ResourceDeleting, s.clock()
	return res.PutDeviceResource(ctx, r)
}

// DeviceResources lists what the device holds or is being sent.
func (s *Service) DeviceResources(ctx context.Context, productID, deviceName string) ([]DeviceResource, error) {
	res, err := s.resources()
	if err != nil {
		return nil, err
	}
	if _, err := s.reg.GetDevice(ctx, productID, deviceName); err != nil {
		return nil, err
	}
	return res.ListDeviceResources(ctx, productID, deviceName)
}

// DeviceUploads lists the files the device uploaded, newest first, with a
// signed download link for each stored one.
func (s *Service) DeviceUploads(ctx context.Context, productID, deviceName string) ([]ResourceUpload, error) {
	res, err := s.resources()
	if err != nil {
		return nil, err
	}
	if _, err := s.reg.GetDevice(ctx, productID, deviceName); err != nil {
		return nil, err
	}
	list, err := res.ListResourceUploads(ctx, productID, deviceName)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].State == UploadDone {
			list[i].DownloadURL = s.links.DownloadURL(list[i].BlobKey)
		}
	}
	return list, nil
}
