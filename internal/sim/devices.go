package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/thingo-iot/thingo/internal/apiclient"
)

// APICaller calls the management API (an *apiclient.Client).
type APICaller interface {
	Call(ctx context.Context, action string, req, resp any) error
}

var _ APICaller = (*apiclient.Client)(nil)

const codeDeviceAlreadyExist = "InvalidParameterValue.DeviceAlreadyExist"

// LoadDevices reads a credentials file: a JSON array of Device objects
// ({"ProductId", "DeviceName", "DevicePsk"}), as WriteDevices writes it.
func LoadDevices(path string) ([]Device, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	var ds []Device
	if err := json.Unmarshal(b, &ds); err != nil {
		return nil, fmt.Errorf("sim: %s: %w", path, err)
	}
	for i, d := range ds {
		if d.ProductID == "" || d.DeviceName == "" || d.DeviceSecret == "" {
			return nil, fmt.Errorf("sim: %s: entry %d: want ProductId, DeviceName and DevicePsk", path, i)
		}
	}
	return ds, nil
}

// WriteDevices writes a credentials file LoadDevices reads (mode 0600).
func WriteDevices(path string, ds []Device) error {
	b, err := json.MarshalIndent(ds, "", "  ")
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	return nil
}

// CreateProduct creates a project and a key-authenticated product named
// name and sets its thing model (schema, Tencent JSON). It returns the
// product id.
func CreateProduct(ctx context.Context, api APICaller, name string, schema []byte) (string, error) {
	var pr struct{ Project struct{ ProjectId string } }
	if err := api.Call(ctx, "CreateProject", map[string]any{"ProjectName": name, "ProjectDesc": "thingo sim"}, &pr); err != nil {
		return "", fmt.Errorf("sim: create project: %w", err)
	}
	var prod struct{ Product struct{ ProductId string } }
	err := api.Call(ctx, "CreateStudioProduct", map[string]any{
		"ProductName": name, "CategoryId": 1, "ProductType": 0, "EncryptionType": "2",
		"NetType": "wifi", "DataProtocol": 1, "ProductDesc": "thingo sim", "ProjectId": pr.Project.ProjectId,
	}, &prod)
	if err != nil {
		return "", fmt.Errorf("sim: create product: %w", err)
	}
	pid := prod.Product.ProductId
	if err := api.Call(ctx, "ModifyModelDefinition", map[string]any{"ProductId": pid, "ModelSchema": string(schema)}, nil); err != nil {
		return "", fmt.Errorf("sim: set thing model of %s: %w", pid, err)
	}
	return pid, nil
}

// CreateDevices creates devices prefix0000.. prefix{n-1} of product pid
// (an existing device is described instead, to get its key), with at most
// concurrency calls in flight.
func CreateDevices(ctx context.Context, api APICaller, pid, prefix string, n, concurrency int) ([]Device, error) {
	if concurrency <= 0 {
		concurrency = 16
	}
	ds := make([]Device, n)
	errs := make([]error, n)
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i := range n {
		name := fmt.Sprintf("%s%05d", prefix, i)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ds[i], errs[i] = createDevice(ctx, api, pid, name)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ds, nil
}

func createDevice(ctx context.Context, api APICaller, pid, name string) (Device, error) {
	var created struct{ Data struct{ DevicePsk string } }
	err := api.Call(ctx, "CreateDevice", map[string]any{"ProductId": pid, "DeviceName": name}, &created)
	var ae *apiclient.Error
	if errors.As(err, &ae) && ae.Code == codeDeviceAlreadyExist {
		var desc struct{ Device struct{ DevicePsk string } }
		err = api.Call(ctx, "DescribeDevice", map[string]any{"ProductId": pid, "DeviceName": name}, &desc)
		created.Data.DevicePsk = desc.Device.DevicePsk
	}
	if err != nil {
		return Device{}, fmt.Errorf("sim: device %s: %w", name, err)
	}
	if created.Data.DevicePsk == "" {
		return Device{}, fmt.Errorf("sim: device %s: no key (is the product key-authenticated?)", name)
	}
	return Device{ProductID: pid, DeviceName: name, DeviceSecret: created.Data.DevicePsk}, nil
}
