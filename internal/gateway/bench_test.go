package gateway_test

import (
	"context"
	"testing"
)

// BenchmarkOnline measures online requests (binding lookup, ACL compile,
// presence record) of one sub-device through a gateway.
func BenchmarkOnline(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, 0)
	f.svc.GatewayConnected("AB12CD34EF", "dev001")
	f.svc.Operate(ctx, "AB12CD34EF", "dev001", request("bind", signed("SUBPID0001", "sub001", "psk-of-sub001", "hmacsha1", now.Unix())))
	req := request("online", dev{ProductID: "SUBPID0001", DeviceName: "sub001"})
	b.ResetTimer()
	for b.Loop() {
		if r, _ := f.svc.Operate(ctx, "AB12CD34EF", "dev001", req); *r.Payload.Devices[0].Result != 0 {
			b.Fatal("online failed")
		}
	}
}

// BenchmarkExtra measures the ACL hook a gateway's proxied publish costs.
func BenchmarkExtra(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, 0)
	f.svc.GatewayConnected("AB12CD34EF", "dev001")
	f.svc.Operate(ctx, "AB12CD34EF", "dev001", request("bind", signed("SUBPID0001", "sub001", "psk-of-sub001", "hmacsha1", now.Unix())))
	f.svc.Operate(ctx, "AB12CD34EF", "dev001", request("online", dev{ProductID: "SUBPID0001", DeviceName: "sub001"}))
	extra := f.svc.Extra("AB12CD34EF", "dev001")
	b.ReportAllocs()
	for b.Loop() {
		if !extra("$thing/up/property/SUBPID0001/sub001", true) {
			b.Fatal("denied")
		}
	}
}
