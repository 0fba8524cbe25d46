package api_test

import (
	"testing"

	"github.com/thingo-iot/thingo/internal/api/apitest"
)

// TestResourceActionsWithoutOTA checks parameter validation and the answer
// of a server without resource management (the flow itself is covered by
// test/e2e/ota_resource_test.go).
func TestResourceActionsWithoutOTA(t *testing.T) {
	s := apitest.NewServer(t, apitest.Options{})
	tests := []struct {
		action string
		params map[string]any
		code   string
	}{
		{"GetResourceUploadURL", map[string]any{"ProductId": "P", "ResourceName": "a"}, "MissingParameter"},
		{"GetResourceUploadURL", map[string]any{"ProductId": "P", "ResourceName": "a", "ResourceVersion": "1"}, "FailedOperation"},
		{"PushDeviceResource", map[string]any{"ProductId": "P", "ResourceName": "a", "ResourceVersion": "1"}, "MissingParameter"},
		{"PushDeviceResource", map[string]any{"ProductId": "P", "DeviceNames": []string{"d"}, "ResourceName": "a", "ResourceVersion": "1"}, "FailedOperation"},
		{"DeleteDeviceResource", map[string]any{"ProductId": "P", "DeviceName": "d"}, "MissingParameter"},
		{"DeleteDeviceResource", map[string]any{"ProductId": "P", "DeviceName": "d", "ResourceName": "a"}, "FailedOperation"},
		{"DescribeDeviceResources", map[string]any{"ProductId": "P"}, "MissingParameter"},
		{"DescribeDeviceResources", map[string]any{"ProductId": "P", "DeviceName": "d"}, "FailedOperation"},
		{"DescribeDeviceResourceUploads", map[string]any{"DeviceName": "d"}, "MissingParameter"},
		{"DescribeDeviceResourceUploads", map[string]any{"ProductId": "P", "DeviceName": "d"}, "FailedOperation"},
	}
	for _, tc := range tests {
		t.Run(tc.action, func(t *testing.T) {
			if r := s.Call(t, tc.action, tc.params); r.Code != tc.code {
				t.Errorf("%s(%v) = %q %s, want %s", tc.action, tc.params, r.Code, r.Message, tc.code)
			}
		})
	}
}
