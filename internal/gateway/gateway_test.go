package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/gateway"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/store/sqlite"
	"github.com/thingo-iot/thingo/protocol"
)

func TestSignBindVector(t *testing.T) {
	// PROTOCOL.md §13.7.
	text := protocol.BindText("BIND_PID", "BIND_DEV_NAME", 13647487, 1795626906)
	if text != "BIND_PIDBIND_DEV_NAME;13647487;1795626906" {
		t.Fatalf("text = %q", text)
	}
	tests := []struct {
		method, want string
		ok           bool
	}{
		{gateway.SignHMACSHA1, "vMO566D6zPo5kqjb/rYTEt7MNRw=", true},
		{"hmacmd5", "", false},
	}
	// The bind line of testdata/wire/c-sdk-mqtt.log, same key.
	c := protocol.BindText("BIND_PID", "BIND_DEV_NAME", 956146640, 1795627944)
	if got, _ := protocol.SignBind("BIND_DEV_PSK", c, gateway.SignHMACSHA1); got != "i2Af1/sX0GADViohyx6S23SFidE=" {
		t.Errorf("c-sdk transcript signature = %q", got)
	}
	for _, tc := range tests {
		got, err := protocol.SignBind("BIND_DEV_PSK", text, tc.method)
		if ok := err == nil; ok != tc.ok || got != tc.want {
			t.Errorf("SignBind(%s) = %q, %v; want %q, ok=%v", tc.method, got, err, tc.want, tc.ok)
		}
	}
}

// fakeDevices is the registry side: products, devices and presence.
type fakeDevices struct {
	mu       sync.Mutex
	store    *sqlite.Store
	psk      map[string]string
	cert     map[string]string
	online   map[string]bool
	products map[string]registry.Product
}

func (f *fakeDevices) GetDevice(ctx context.Context, pid, dn string) (registry.DeviceDetail, error) {
	p, err := f.GetProduct(ctx, pid)
	if err != nil {
		return registry.DeviceDetail{}, err
	}
	d, err := f.store.GetDevice(ctx, pid, dn)
	if err != nil {
		return registry.DeviceDetail{}, err
	}
	d.CertPEM = f.cert[pid+dn]
	return registry.DeviceDetail{Device: d, Product: p, PSK: f.psk[pid+dn]}, nil
}

func (f *fakeDevices) GetProduct(ctx context.Context, id string) (registry.Product, error) {
	return f.store.GetProduct(ctx, id)
}

func (f *fakeDevices) ListTopicPolicies(ctx context.Context, pid string) ([]registry.TopicPolicy, error) {
	return f.store.ListTopicPolicies(ctx, pid)
}

func (f *fakeDevices) RecordConnect(_ context.Context, pid, dn string, _ registry.Presence) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.online[pid+"/"+dn] = true
	return nil
}

func (f *fakeDevices) RecordDisconnect(_ context.Context, pid, dn string, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.online[pid+"/"+dn] = false
	return nil
}

func (f *fakeDevices) isOnline(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.online[id]
}

type sent struct{ pid, dn, topic, payload string }

type fakePub struct {
	mu   sync.Mutex
	msgs []sent
}

func (p *fakePub) Publish(_ context.Context, pid, dn, topic string, payload []byte, _ byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, sent{pid, dn, topic, string(payload)})
	return nil
}

func (p *fakePub) last() sent {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.msgs) == 0 {
		return sent{}
	}
	return p.msgs[len(p.msgs)-1]
}

var now = time.Unix(1795627705, 0)

type fixture struct {
	svc  *gateway.Service
	devs *fakeDevices
	pub  *fakePub
}

func newFixture(t testing.TB, max int) fixture {
	t.Helper()
	return newFixtureDir(t, max, nil)
}

// newFixtureDir is newFixture with a Directory (nil: none).
func newFixtureDir(t testing.TB, max int, dir gateway.Directory) fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateProject(ctx, registry.Project{ID: "P1", Name: "p"}))
	prod := func(id string, typ int64) {
		must(st.CreateProduct(ctx, registry.Product{ID: id, ProjectID: "P1", Name: id, ProductType: typ,
			EncryptionType: registry.EncryptionKey, DataProtocol: 1, DevStatus: "dev"}))
	}
	prod("AB12CD34EF", registry.ProductTypeGateway)
	prod("SUBPID0001", registry.ProductTypeNormal)
	prod("SUBPID0002", registry.ProductTypeNormal)
	prod("GWPROD0002", registry.ProductTypeGateway)
	devs := &fakeDevices{store: st, psk: map[string]string{}, cert: map[string]string{}, online: map[string]bool{}}
	for _, d := range []struct{ pid, dn string }{
		{"AB12CD34EF", "dev001"}, {"AB12CD34EF", "dev002"}, {"GWPROD0002", "gw"},
		{"SUBPID0001", "sub001"}, {"SUBPID0001", "sub002"}, {"SUBPID0001", "sub003"}, {"SUBPID0001", "certdev"},
		{"SUBPID0002", "other"},
	} {
		must(st.CreateDevice(ctx, registry.Device{ProductID: d.pid, Name: d.dn, SealedPSK: []byte("x"), EnableState: 1}))
		devs.psk[d.pid+d.dn] = "psk-of-" + d.dn
	}
	devs.psk["SUBPID0001certdev"] = ""
	devs.cert["SUBPID0001certdev"] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	pub := &fakePub{}
	svc, err := gateway.New(gateway.Config{Store: st, Devices: devs, Publisher: pub, Now: func() time.Time { return now },
		MaxSubDevices: max, Directory: dir})
	must(err)
	must(svc.BindProducts(ctx, "AB12CD34EF", []string{"SUBPID0001", "GWPROD0002"}[:1]))
	return fixture{svc: svc, devs: devs, pub: pub}
}

type dev struct {
	ProductID  string `json:"product_id"`
	DeviceName string `json:"device_name"`
	Signature  string `json:"signature,omitempty"`
	Random     any    `json:"random,omitempty"`
	Timestamp  any    `json:"timestamp,omitempty"`
	SignMethod string `json:"signmethod,omitempty"`
	AuthType   string `json:"authtype,omitempty"`
}

func signed(pid, dn, key, method string, ts int64) dev {
	sig, err := protocol.SignBind(key, protocol.BindText(pid, dn, 42, ts), strings.ToLower(method))
	if err != nil {
		sig = "AAAA"
	}
	return dev{ProductID: pid, DeviceName: dn, Signature: sig, Random: 42, Timestamp: ts, SignMethod: method, AuthType: "psk"}
}

func request(typ string, devs ...dev) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "payload": map[string]any{"devices": devs}})
	return b
}

func results(t *testing.T, r gateway.Reply) []int {
	t.Helper()
	var out []int
	for _, d := range r.Payload.Devices {
		if d.Result == nil {
			t.Fatalf("device without result: %+v", d)
		}
		out = append(out, *d.Result)
	}
	return out
}

func TestOperationResultCodes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 3)
	ts := now.Unix()
	certKey := gateway.CertKeys(f.devs.cert["SUBPID0001certdev"])[0]
	// dev002 has bound sub003 first: 806 for dev001.
	if r, _ := f.svc.Operate(ctx, "AB12CD34EF", "dev002", request("bind", signed("SUBPID0001", "sub003", "psk-of-sub003", "hmacsha256", ts))); results(t, r)[0] != 0 {
		t.Fatalf("setup bind: %+v", r)
	}
	badSig := signed("SUBPID0001", "sub002", "psk-of-sub002", "hmacsha1", ts)
	badSig.Signature = "AAAA"
	noRandom := signed("SUBPID0001", "sub002", "psk-of-sub002", "hmacsha1", ts)
	noRandom.Random = nil
	strNums := signed("SUBPID0001", "sub002", "psk-of-sub002", "hmacsha1", ts)
	strNums.Random, strNums.Timestamp = "42", fmt.Sprint(ts)
	certSigned := signed("SUBPID0001", "certdev", certKey, "hmacsha256", ts)
	certSigned.AuthType = "certificate"
	tests := []struct {
		name string
		typ  string
		devs []dev
		want []int
	}{
		{"bind sha1", "bind", []dev{signed("SUBPID0001", "sub001", "psk-of-sub001", "hmacsha1", ts)}, []int{0}},
		{"duplicate and bad signature in order", "bind", []dev{
			signed("SUBPID0001", "sub001", "psk-of-sub001", "hmacsha1", ts), badSig}, []int{809, 803}},
		{"bad params", "bind", []dev{noRandom, {ProductID: "bad pid", DeviceName: "x", Signature: "x", Random: 1, Timestamp: ts, SignMethod: "hmacsha1"}}, []int{801, 801}},
		{"unknown device", "bind", []dev{signed("SUBPID0001", "nobody", "k", "hmacsha1", ts)}, []int{802}},
		{"sign method", "bind", []dev{signed("SUBPID0001", "sub002", "psk-of-sub002", "hmacmd5", ts)}, []int{804}},
		{"expired", "bind", []dev{signed("SUBPID0001", "sub002", "psk-of-sub002", "hmacsha1", ts-7200)}, []int{805}},
		{"bound elsewhere", "bind", []dev{signed("SUBPID0001", "sub003", "psk-of-sub003", "hmacsha1", ts)}, []int{806}},
		{"gateway as sub-device", "bind", []dev{signed("GWPROD0002", "gw", "psk-of-gw", "hmacsha1", ts)}, []int{807}},
		{"product not associated", "bind", []dev{signed("SUBPID0002", "other", "psk-of-other", "hmacsha1", ts)}, []int{810}},
		{"string numbers", "bind", []dev{strNums}, []int{0}},
		{"certificate", "bind", []dev{certSigned}, []int{0}},
		{"limit", "bind", []dev{signed("SUBPID0001", "sub003", "psk-of-sub003", "hmacsha1", ts)}, []int{806}},
		{"online bound", "online", []dev{{ProductID: "SUBPID0001", DeviceName: "sub001"}}, []int{0}},
		{"online not bound", "online", []dev{{ProductID: "SUBPID0001", DeviceName: "sub003"}}, []int{-1}},
		{"offline", "offline", []dev{{ProductID: "SUBPID0001", DeviceName: "sub001"}}, []int{0}},
		{"unbind", "unbind", []dev{{ProductID: "SUBPID0001", DeviceName: "sub002"}, {ProductID: "SUBPID0001", DeviceName: "sub003"}}, []int{0, -1}},
	}
	f.svc.GatewayConnected("AB12CD34EF", "dev001")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := f.svc.Operate(ctx, "AB12CD34EF", "dev001", request(tc.typ, tc.devs...))
			if !ok || r.Type != tc.typ || r.Result != nil {
				t.Fatalf("reply = %+v, %v", r, ok)
			}
			got := results(t, r)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("results = %v, want %v", got, tc.want)
			}
			for i, d := range r.Payload.Devices {
				if d.ProductID != tc.devs[i].ProductID || d.DeviceName != tc.devs[i].DeviceName {
					t.Errorf("device %d = %+v, want request order", i, d)
				}
			}
		})
	}
	// sub001 and certdev bound to dev001, limit 3: binding sub002 again is
	// allowed (2 bound), then one more refused with 808.
	r, _ := f.svc.Operate(ctx, "AB12CD34EF", "dev001", request("bind", signed("SUBPID0001", "sub002", "psk-of-sub002", "hmacsha1", ts)))
	if got := results(t, r); got[0] != 0 {
		t.Fatalf("bind third: %v", got)
	}
	mustBindAPI := f.svc.BindProducts(ctx, "AB12CD34EF", []string{"SUBPID0002"})
	if mustBindAPI != nil {
		t.Fatal(mustBindAPI)
	}
	r, _ = f.svc.Operate(ctx, "AB12CD34EF", "dev001", request("bind", signed("SUBPID0002", "other", "psk-of-other", "hmacsha1", ts)))
	if got := results(t, r); got[0] != 808 {
		t.Errorf("bind over the limit: %v, want 808", got)
	}
	// Online fails with -2 when the gateway is not connected.
	r, _ = f.svc.Operate(ctx, "AB12CD34EF", "dev002", request("online", dev{ProductID: "SUBPID0001", DeviceName: "sub003"}))
	if got := results(t, r); got[0] != -2 {
		t.Errorf("online without a connection: %v, want -2", got)
	}
}

func TestOperationWholeRequest(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	many := make([]dev, gateway.MaxDevicesPerRequest+1)
	for i := range many {
		many[i] = dev{ProductID: "SUBPID0001", DeviceName: fmt.Sprint("d", i)}
	}
	tests := []struct {
		name    string
		payload string
		reply   bool
		result  int
	}{
		{"not json", "{", false, 0},
		{"change answer", `{"type":"change","result":0}`, false, 0},
		{"search answer", `{"type":"search_devices","payload":{"status":1,"result":0}}`, false, 0},
		{"unknown type", `{"type":"reboot"}`, true, 801},
		{"no devices", `{"type":"online","payload":{"devices":[]}}`, true, 801},
		{"too many devices", string(request("online", many...)), true, 801},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := f.svc.Operate(ctx, "AB12CD34EF", "dev001", []byte(tc.payload))
			if ok != tc.reply {
				t.Fatalf("reply = %v, want %v", ok, tc.reply)
			}
			if ok && (r.Result == nil || *r.Result != tc.result) {
				t.Errorf("result = %+v, want %d", r, tc.result)
			}
		})
	}
}

func TestProxyACLAndPresence(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	ts := now.Unix()
	for _, dn := range []string{"sub001", "sub002"} {
		f.svc.Operate(ctx, "AB12CD34EF", "dev001", request("bind", signed("SUBPID0001", dn, "psk-of-"+dn, "hmacsha1", ts)))
	}
	extra := f.svc.Extra("AB12CD34EF", "dev001")
	other := f.svc.Extra("AB12CD34EF", "dev002")
	check := func(when string, sub001 bool) {
		t.Helper()
		tests := []struct {
			fn      func(string, bool) bool
			topic   string
			publish bool
			want    bool
		}{
			{extra, "$thing/up/property/SUBPID0001/sub001", true, sub001},
			{extra, "$thing/down/property/SUBPID0001/sub001", false, sub001},
			{extra, "$thing/down/+/SUBPID0001/sub001", false, sub001},
			{extra, "$thing/down/property/SUBPID0001/sub001", true, false},
			{extra, "$ota/report/SUBPID0001/sub001", true, sub001},
			{extra, "SUBPID0001/sub001/data", true, sub001},
			{extra, "$thing/up/property/SUBPID0001/sub002", true, false},
			{extra, "$gateway/operation/SUBPID0001/sub001", true, false},
			{extra, "$thing/down/#", false, false},
			{other, "$thing/up/property/SUBPID0001/sub001", true, false},
		}
		for _, tc := range tests {
			if got := tc.fn(tc.topic, tc.publish); got != tc.want {
				t.Errorf("%s: %s publish=%v: %v, want %v", when, tc.topic, tc.publish, got, tc.want)
			}
		}
	}
	check("before online", false)
	f.svc.GatewayConnected("AB12CD34EF", "dev001")
	f.svc.Operate(ctx, "AB12CD34EF", "dev001", request("online", dev{ProductID: "SUBPID0001", DeviceName: "sub001"}))
	check("online", true)
	if pid, dn, ok := f.svc.Via("SUBPID0001", "sub001"); !ok || pid != "AB12CD34EF" || dn != "dev001" {
		t.Errorf("Via = %s %s %v", pid, dn, ok)
	}
	if !f.devs.isOnline("SUBPID0001/sub001") {
		t.Error("sub001 not recorded online")
	}
	f.svc.Operate(ctx, "AB12CD34EF", "dev001", request("offline", dev{ProductID: "SUBPID0001", DeviceName: "sub001"}))
	check("offline", false)
	if f.devs.isOnline("SUBPID0001/sub001") {
		t.Error("sub001 still recorded online")
	}
	f.svc.Operate(ctx, "AB12CD34EF", "dev001", request("online", dev{ProductID: "SUBPID0001", DeviceName: "sub001"}))
	f.svc.GatewayDisconnected("AB12CD34EF", "dev001", now)
	f.svc.Wait()
	check("gateway gone", false)
	if f.devs.isOnline("SUBPID0001/sub001") {
		t.Error("sub001 still recorded online after the gateway left")
	}

	// describe lists the bound devices.
	r, ok := f.svc.Operate(ctx, "AB12CD34EF", "dev001", []byte(`{"type": "describe_sub_devices"}`))
	if !ok || len(r.Payload.Devices) != 2 || r.Payload.Devices[0].Result != nil {
		t.Errorf("describe = %+v", r)
	}
	b, _ := json.Marshal(r)
	if string(b) != `{"type":"describe_sub_devices","payload":{"devices":[{"product_id":"SUBPID0001","device_name":"sub001"},{"product_id":"SUBPID0001","device_name":"sub002"}]}}` {
		t.Errorf("describe json = %s", b)
	}
}

func TestAPIBindSendsChange(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	if err := f.svc.BindDevices(ctx, "AB12CD34EF", "dev001", "SUBPID0001", []string{"sub001", "sub002"}); err != nil {
		t.Fatal(err)
	}
	want := sent{"AB12CD34EF", "dev001", "$gateway/operation/result/AB12CD34EF/dev001",
		`{"type":"change","payload":{"status":1,"devices":[{"product_id":"SUBPID0001","device_name":"sub001"},{"product_id":"SUBPID0001","device_name":"sub002"}]}}`}
	if got := f.pub.last(); got != want {
		t.Errorf("change = %+v", got)
	}
	tests := []struct {
		name string
		err  error
		run  func() error
	}{
		{"elsewhere", gateway.ErrBoundElsewhere, func() error {
			return f.svc.BindDevices(ctx, "AB12CD34EF", "dev002", "SUBPID0001", []string{"sub001"})
		}},
		{"not associated", gateway.ErrProductNotAssociated, func() error {
			return f.svc.BindDevices(ctx, "AB12CD34EF", "dev001", "SUBPID0002", []string{"other"})
		}},
		{"not a gateway", gateway.ErrNotGateway, func() error {
			return f.svc.BindDevices(ctx, "SUBPID0001", "sub003", "SUBPID0001", []string{"sub001"})
		}},
		{"unbind not bound", gateway.ErrNotBound, func() error {
			return f.svc.UnbindDevices(ctx, "AB12CD34EF", "dev001", "SUBPID0001", []string{"sub003"})
		}},
		{"gateway product", gateway.ErrNotNormal, func() error {
			return f.svc.BindProducts(ctx, "AB12CD34EF", []string{"GWPROD0002"})
		}},
	}
	for _, tc := range tests {
		if err := tc.run(); !errors.Is(err, tc.err) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.err)
		}
	}
	if err := f.svc.UnbindDevices(ctx, "AB12CD34EF", "dev001", "SUBPID0001", []string{"sub002"}); err != nil {
		t.Fatal(err)
	}
	if got := f.pub.last().payload; got != `{"type":"change","payload":{"status":0,"devices":[{"product_id":"SUBPID0001","device_name":"sub002"}]}}` {
		t.Errorf("unbind change = %s", got)
	}
}

func TestOnlineDisabledAndSearch(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	if err := f.svc.BindDevices(ctx, "AB12CD34EF", "dev001", "SUBPID0001", []string{"sub002"}); err != nil {
		t.Fatal(err)
	}
	if err := f.devs.store.SetDeviceEnabled(ctx, "SUBPID0001", "sub002", registry.Disabled); err != nil {
		t.Fatal(err)
	}
	f.svc.GatewayConnected("AB12CD34EF", "dev001")
	r, _ := f.svc.Operate(ctx, "AB12CD34EF", "dev001", request("online", dev{ProductID: "SUBPID0001", DeviceName: "sub002"}))
	if got := results(t, r); got[0] != gateway.ResultNotAllowed || f.svc.Online("SUBPID0001", "sub002") {
		t.Errorf("online of a disabled sub-device: %v", got)
	}
	if err := f.svc.SearchDevices(ctx, "AB12CD34EF", "dev001", 1); err != nil {
		t.Fatal(err)
	}
	want := sent{"AB12CD34EF", "dev001", "$gateway/operation/result/AB12CD34EF/dev001", `{"type":"search_devices","payload":{"status":1}}`}
	if got := f.pub.last(); got != want {
		t.Errorf("search_devices = %+v", got)
	}
}
