package storetest

import (
	"context"
	"testing"

	"github.com/thingo-iot/thingo/internal/ota"
	"github.com/thingo-iot/thingo/internal/registry"
)

func testResources(t *testing.T, rs registry.Store) {
	s, ok := rs.(ota.ResourceStore)
	if !ok {
		t.Fatalf("%T does not implement ota.ResourceStore", rs)
	}
	ctx := context.Background()
	seed(t, rs)
	mustNil(t, rs.CreateDevice(ctx, device("PRODUCT01", "dev1", 1)))

	r := ota.DeviceResource{ProductID: "PRODUCT01", DeviceName: "dev1", Name: "b.wav", Type: "AUDIO", Version: "1.0",
		MD5: "0123456789abcdef0123456789abcdef", Size: 10, BlobKey: "resources/files/PRODUCT01/b.wav/1.0",
		State: ota.ResourcePushed, UpdatedAt: at(1)}
	mustNil(t, s.PutDeviceResource(ctx, r))
	a := r
	a.Name, a.State = "a.txt", ota.ResourceDone
	mustNil(t, s.PutDeviceResource(ctx, a))
	r.State, r.Percent, r.ResultCode, r.ResultMsg, r.UpdatedAt = ota.ResourceFailed, 40, -4, "MD5 mismatch", at(2)
	mustNil(t, s.PutDeviceResource(ctx, r))
	got, err := s.GetDeviceResource(ctx, "PRODUCT01", "dev1", "b.wav")
	mustNil(t, err)
	if got != r {
		t.Errorf("GetDeviceResource = %+v, want %+v", got, r)
	}
	_, err = s.GetDeviceResource(ctx, "PRODUCT01", "dev1", "none")
	wantErr(t, "missing resource", err, ota.ErrResourceNotFound)
	bad := r
	bad.DeviceName = "nodev"
	wantErr(t, "resource of missing device", s.PutDeviceResource(ctx, bad), registry.ErrDeviceNotFound)
	list, err := s.ListDeviceResources(ctx, "PRODUCT01", "dev1")
	mustNil(t, err)
	if len(list) != 2 || list[0].Name != "a.txt" || list[1] != r {
		t.Errorf("ListDeviceResources = %+v", list)
	}
	mustNil(t, s.DeleteDeviceResource(ctx, "PRODUCT01", "dev1", "a.txt"))
	mustNil(t, s.DeleteDeviceResource(ctx, "PRODUCT01", "dev1", "a.txt"))
	list, err = s.ListDeviceResources(ctx, "PRODUCT01", "dev1")
	mustNil(t, err)
	if len(list) != 1 {
		t.Errorf("after delete: %+v", list)
	}

	u := ota.ResourceUpload{Token: "tok1", ProductID: "PRODUCT01", DeviceName: "dev1", Name: "log.txt", Type: "FILE",
		Version: "1", BlobKey: "resources/uploads/PRODUCT01/dev1/tok1", State: ota.UploadRequested, CreatedAt: at(3), UpdatedAt: at(3)}
	mustNil(t, s.PutResourceUpload(ctx, u))
	u2 := u
	u2.Token, u2.BlobKey, u2.CreatedAt, u2.UpdatedAt = "tok2", "resources/uploads/PRODUCT01/dev1/tok2", at(4), at(4)
	mustNil(t, s.PutResourceUpload(ctx, u2))
	u.State, u.MD5, u.Size, u.UpdatedAt = ota.UploadDone, "0123456789abcdef0123456789abcdef", 99, at(5)
	mustNil(t, s.PutResourceUpload(ctx, u))
	gu, err := s.GetResourceUpload(ctx, "tok1")
	mustNil(t, err)
	if gu != u {
		t.Errorf("GetResourceUpload = %+v, want %+v", gu, u)
	}
	_, err = s.GetResourceUpload(ctx, "none")
	wantErr(t, "missing upload", err, ota.ErrUploadNotFound)
	ups, err := s.ListResourceUploads(ctx, "PRODUCT01", "dev1")
	mustNil(t, err)
	if len(ups) != 2 || ups[0].Token != "tok2" || ups[1] != u {
		t.Errorf("ListResourceUploads = %+v", ups)
	}

	// Deleting the device removes its entries.
	mustNil(t, rs.DeleteDevice(ctx, "PRODUCT01", "dev1"))
	list, err = s.ListDeviceResources(ctx, "PRODUCT01", "dev1")
	mustNil(t, err)
	ups, err2 := s.ListResourceUploads(ctx, "PRODUCT01", "dev1")
	mustNil(t, err2)
	if len(list) != 0 || len(ups) != 0 {
		t.Errorf("entries left after device deletion: %+v %+v", list, ups)
	}
}
