package sdk_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/sdk"
)

// TestE2EResources: the platform pushes a resource, the device downloads
// it with an MD5 check and reports done; the recorded list comes back on
// report_version; a deletion push is answered.
func TestE2EResources(t *testing.T) {
	n := startNode(t)
	pid := n.newProduct("2")
	d := n.newDevice(pid, "res1")
	file := make([]byte, 70_000)
	_, _ = rand.Read(file)
	sum := md5.Sum(file)

	var up struct{ Url string }
	n.call("GetResourceUploadURL", map[string]any{"ProductId": pid, "ResourceName": "tone.wav", "ResourceVersion": "1.0.0"}, &up)
	req, _ := http.NewRequest(http.MethodPut, up.Url, bytes.NewReader(file))
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode/100 != 2 {
		t.Fatalf("PUT resource: %v %v", res, err)
	}
	res.Body.Close()

	c := newClient(t, n.url("tcp"), func(cfg *sdk.Config) {
		cfg.ProductID, cfg.DeviceName, cfg.DeviceSecret = pid, d.DeviceName, d.DevicePsk
	})
	updates := make(chan sdk.ResourceUpdate, 2)
	deletes := make(chan sdk.Resource, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.OnResources(ctx, sdk.ResourceHandlers{
		Update: func(_ context.Context, u sdk.ResourceUpdate) { updates <- u },
		Delete: func(_ context.Context, r sdk.Resource) { deletes <- r },
	}); err != nil {
		t.Fatal(err)
	}
	mustConnect(t, c)
	if list, err := c.ReportResources(ctx, nil); err != nil || len(list) != 0 {
		t.Fatalf("ReportResources = %v, %v", list, err)
	}

	n.call("PushDeviceResource", map[string]any{"ProductId": pid, "DeviceNames": []string{d.DeviceName}, "ResourceName": "tone.wav",
		"ResourceVersion": "1.0.0", "ResourceType": "AUDIO"}, nil)
	u := recv(t, updates, "update_resource")
	if u.Name != "tone.wav" || u.Type != "AUDIO" || u.MD5 != hex.EncodeToString(sum[:]) || u.FileSize != int64(len(file)) {
		t.Fatalf("update = %+v", u)
	}
	path := filepath.Join(t.TempDir(), "tone.wav")
	if err := c.DownloadResource(ctx, u, path, nil); err != nil {
		t.Fatalf("DownloadResource: %v", err)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, file) {
		t.Fatalf("downloaded file differs (%d bytes, %v)", len(got), err)
	}
	type described struct {
		Resources []struct{ ResourceName, Status string }
	}
	waitFor(t, 10*time.Second, func() error {
		var l described
		n.call("DescribeDeviceResources", map[string]any{"ProductId": pid, "DeviceName": d.DeviceName}, &l)
		if len(l.Resources) != 1 || l.Resources[0].Status != "done" {
			return fmt.Errorf("resources %+v", l.Resources)
		}
		return nil
	})
	list, err := c.ReportResources(ctx, nil)
	if err != nil || len(list) != 1 || list[0] != u.Resource {
		t.Fatalf("recorded list = %+v, %v; want %+v", list, err, u.Resource)
	}

	n.call("DeleteDeviceResource", map[string]any{"ProductId": pid, "DeviceName": d.DeviceName, "ResourceName": "tone.wav"}, nil)
	r := recv(t, deletes, "del_resource")
	if err := c.ReportResourceDeleted(ctx, r, os.Remove(path)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() error {
		var l described
		n.call("DescribeDeviceResources", map[string]any{"ProductId": pid, "DeviceName": d.DeviceName}, &l)
		if len(l.Resources) != 0 {
			return fmt.Errorf("resources %+v", l.Resources)
		}
		return nil
	})
}
