package api

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/thingo-iot/thingo/internal/registry"
)

func TestQueryToJSON(t *testing.T) {
	tests := []struct {
		query string
		want  string // JSON, or "" for an error
	}{
		{"ProductId=P1&Limit=10&Offset=0", `{"Limit":10,"Offset":0,"ProductId":"P1"}`},
		{"Filters.0.Name=DeviceName&Filters.0.Values.0=dev&Filters.1.Name=X", `{"Filters":[{"Name":"DeviceName","Values":["dev"]},{"Name":"X"}]}`},
		{"productid=P1&Unknown=1", `{"ProductId":"P1"}`},
		{"", `{}`},
		{"Limit=ten", ""},
		{"Filters=x", ""},
		{"Filters.a.Name=x", ""},
		{"Limit.0=1", ""},
		{"%zz", ""},
	}
	for _, tt := range tests {
		got, err := queryToJSON(tt.query, reflect.TypeFor[getDeviceListRequest]())
		if tt.want == "" {
			var e *Error
			if !errors.As(err, &e) || e.Code != codeInvalidParameter {
				t.Errorf("%q: err = %v, want InvalidParameter", tt.query, err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("%q = %s, %v; want %s", tt.query, got, err, tt.want)
		}
	}
}

func TestDownlinkAllowed(t *testing.T) {
	p := registry.Product{ID: "PID0000001"}
	gw := registry.Product{ID: "PID0000001", ProductType: registry.ProductTypeGateway}
	pol := []registry.TopicPolicy{{Name: "in", Privilege: registry.PrivilegeSubscribe}, {Name: "out", Privilege: registry.PrivilegePublish}}
	tests := []struct {
		prod  registry.Product
		topic string
		want  bool
	}{
		{p, "$thing/down/property/PID0000001/d", true},
		{p, "$thing/down/raw/PID0000001/d", true},
		{p, "$thing/up/property/PID0000001/d", false},
		{p, "$thing/down/property/PID0000001/other", false},
		{p, "PID0000001/d/control", true},
		{p, "PID0000001/d/data", true},
		{p, "PID0000001/d/event", false},
		{p, "PID0000001/d/in", true},
		{p, "PID0000001/d/out", false},
		{p, "PID0000001/d/+", false},
		{p, "$ota/update/PID0000001/d", true},
		{p, "$rrpc/rxd/PID0000001/d/42", true},
		{p, "$gateway/operation/result/PID0000001/d", false},
		{gw, "$gateway/operation/result/PID0000001/d", true},
	}
	for _, tt := range tests {
		if got := downlinkAllowed(tt.prod, "d", tt.topic, pol); got != tt.want {
			t.Errorf("downlinkAllowed(%q) = %v, want %v", tt.topic, got, tt.want)
		}
	}
}

func FuzzQueryToJSON(f *testing.F) {
	f.Add("ProductId=P1&Limit=10&Filters.0.Name=DeviceName&Filters.0.Values.0=dev")
	f.Add("DevicesItems.0.ProductId=P&DevicesItems.0.DeviceName=d&Status=1")
	f.Add("Filters.999.Values.3=x")
	f.Fuzz(func(t *testing.T, q string) {
		for _, typ := range []reflect.Type{reflect.TypeFor[getDeviceListRequest](), reflect.TypeFor[updateDevicesEnableStateRequest]()} {
			out, err := queryToJSON(q, typ)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("untyped error %v", err)
				}
				continue
			}
			// What the query produced must decode into the request type.
			if err := decodeJSON(out, reflect.New(typ).Interface()); err != nil {
				t.Fatalf("%q -> %s does not decode: %v", q, out, err)
			}
			if !json.Valid(out) {
				t.Fatalf("invalid JSON %s", out)
			}
		}
	})
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add(`{"ProductId":"P","DevicesItems":[{"ProductId":"P","DeviceName":"d"}],"Status":1}`)
	f.Add(`{"Status":"1"}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		var req updateDevicesEnableStateRequest
		if err := decodeJSON([]byte(body), &req); err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != codeInvalidParameter {
				t.Fatalf("err = %v, want InvalidParameter", err)
			}
			return
		}
		_ = checkRequired(reflect.ValueOf(&req), "")
	})
}
