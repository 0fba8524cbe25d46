package sdk

import (
	"encoding/json"
	"testing"
)

// FuzzParseGatewayMessage: messages of $gateway/operation/result never
// panic the parser, and what it accepts has a type and re-encodes.
func FuzzParseGatewayMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"bind","payload":{"devices":[{"product_id":"SUBPID0001","device_name":"sub003","result":0}]}}`,
		`{"type":"describe_sub_devices","payload":{"devices":[{"product_id":"SUBPID0001","device_name":"sub001"}]}}`,
		`{"type":"change","payload":{"status":0,"devices":[{"product_id":"P","device_name":"d"}]}}`,
		`{"type":"search_devices","payload":{"status":1}}`,
		`{"type":"online","result":801,"payload":{"devices":[]}}`,
		`{"type":1}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseGatewayMessage(b)
		if err != nil {
			return
		}
		if r.Type == "" {
			t.Fatal("accepted a message without type")
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSameDevices(t *testing.T) {
	a := gwDevice{ProductID: "P", DeviceName: "a"}
	b := gwDevice{ProductID: "P", DeviceName: "b"}
	tests := []struct {
		got, want []gwDevice
		same      bool
	}{
		{[]gwDevice{a, b}, []gwDevice{a, b}, true},
		{[]gwDevice{b, a}, []gwDevice{a, b}, false},
		{[]gwDevice{a}, []gwDevice{a, b}, false},
		{nil, nil, true},
	}
	for i, tt := range tests {
		if got := sameDevices(tt.got, tt.want); got != tt.same {
			t.Errorf("case %d: sameDevices = %v", i, got)
		}
	}
}

// FuzzParseResourceMsg: messages of $resource/down/service never panic the
// parser, and what it accepts has a method.
func FuzzParseResourceMsg(f *testing.F) {
	for _, s := range []string{
		`{"method":"update_resource","resource_name":"a.wav","resource_type":"FILE","version":"1.0.0","url":"http://h/x","md5sum":"00","file_size":31242}`,
		`{"method":"report_version_rsp","request_id":"ab-1","result_code":0,"result_msg":"success","resource_list":[{"resource_name":"a","version":"1","resource_type":"FILE"}]}`,
		`{"method":"del_resource","resource_name":"a","version":"1"}`,
		`{"method":"report_version_rsp","request_id":12}`,
		`{"method":""}`, `{}`, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseResourceMsg(b)
		if err == nil && m.Method == "" {
			t.Fatal("accepted a message without method")
		}
	})
}
