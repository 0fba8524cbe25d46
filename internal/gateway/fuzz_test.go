package gateway_test

import (
	"context"
	"encoding/json"
	"testing"
)

// FuzzOperate feeds arbitrary $gateway/operation payloads: no panic, and a
// reply, when due, is JSON that lists at most the request's devices.
func FuzzOperate(f *testing.F) {
	for _, s := range []string{
		`{"type":"bind","payload":{"devices":[{"product_id":"SUBPID0001","device_name":"sub001","signature":"MVQasVxzLTLtQLElIX1wrNI9USc=","random":522958475,"timestamp":1795627705,"signmethod":"hmacsha1","authtype":"psk"}]}}`,
		`{"type":"online","payload":{"devices":[{"product_id":"SUBPID0001","device_name":"sub001"}]}}`,
		`{"type":"offline","payload":{"devices":[{"product_id":"SUBPID0001","device_name":"sub001"}]}}`,
		`{"type":"unbind","payload":{"devices":[{"product_id":"SUBPID0001","device_name":"sub003"}]}}`,
		`{"type": "describe_sub_devices"}`,
		`{"type":"change","result":0}`,
		`{"type":"bind","payload":{"devices":[{"random":"1","timestamp":"x"}]}}`,
		`{"type":"online","payload":{"devices":null}}`,
		`[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	fx := newFixture(f, 0)
	fx.svc.GatewayConnected("AB12CD34EF", "dev001")
	f.Fuzz(func(t *testing.T, payload []byte) {
		r, ok := fx.svc.Operate(context.Background(), "AB12CD34EF", "dev001", payload)
		if !ok {
			return
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("reply not encodable: %v", err)
		}
	})
}
