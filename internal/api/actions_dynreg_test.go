package api_test

import (
	"testing"

	"github.com/thingo-iot/thingo/internal/api/apitest"
)

func TestProductDynamicRegister(t *testing.T) {
	backends(t, func(t *testing.T, s *apitest.Server) {
		f := setup(t, s)
		type settings struct {
			RegisterType  uint64
			ProductSecret string
			RegisterLimit uint64
		}
		var first settings
		ok(t, s.Call(t, "DescribeProductDynamicRegister", map[string]any{"ProductId": f.keyPID}), &first)
		if first.RegisterType != 0 || first.RegisterLimit != 0 || len(first.ProductSecret) < 24 {
			t.Fatalf("initial settings %+v", first)
		}
		var other settings
		ok(t, s.Call(t, "DescribeProductDynamicRegister", map[string]any{"ProductId": f.certPID}), &other)
		if other.ProductSecret == first.ProductSecret {
			t.Error("two products share a product secret")
		}

		var mod settings
		ok(t, s.Call(t, "ModifyProductDynamicRegister", map[string]any{
			"ProductId": f.keyPID, "RegisterType": 2, "RegisterLimit": 100,
		}), &mod)
		if mod != (settings{RegisterType: 2, ProductSecret: first.ProductSecret, RegisterLimit: 100}) {
			t.Errorf("modified settings %+v", mod)
		}
		var again settings
		ok(t, s.Call(t, "DescribeProductDynamicRegister", map[string]any{"ProductId": f.keyPID}), &again)
		if again != mod {
			t.Errorf("described %+v after modify %+v", again, mod)
		}

		tests := []struct {
			name   string
			action string
			params map[string]any
			code   string
		}{
			{"unknown product", "DescribeProductDynamicRegister", map[string]any{"ProductId": "NOPRODUCT0"}, "ResourceNotFound.StudioProductNotExist"},
			{"missing product", "DescribeProductDynamicRegister", map[string]any{}, "MissingParameter"},
			{"bad type", "ModifyProductDynamicRegister", map[string]any{"ProductId": f.keyPID, "RegisterType": 3, "RegisterLimit": 1}, "InvalidParameterValue"},
			{"missing limit", "ModifyProductDynamicRegister", map[string]any{"ProductId": f.keyPID, "RegisterType": 1}, "MissingParameter"},
			{"modify unknown", "ModifyProductDynamicRegister", map[string]any{"ProductId": "NOPRODUCT0", "RegisterType": 1, "RegisterLimit": 1}, "ResourceNotFound.StudioProductNotExist"},
			{"logs not kept", "DescribeDeviceLogs", map[string]any{"ProductId": f.keyPID, "DeviceName": "d"}, "FailedOperation"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, s.Call(t, tc.action, tc.params), tc.code, "")
			})
		}
	})
}
