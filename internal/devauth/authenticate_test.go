package devauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/protocol"
)

const testPSK = "MDEyMzQ1Njc4OWFiY2RlZg=="

// fakeSource is an in-memory DeviceSource.
type fakeSource struct {
	devices map[string]DeviceAuth // key pid/dn
	err     error                 // returned for every lookup when set
	calls   atomic.Int64
}

func (f *fakeSource) DeviceAuth(_ context.Context, productID, deviceName string) (DeviceAuth, error) {
	f.calls.Add(1)
	if f.err != nil {
		return DeviceAuth{}, f.err
	}
	d, ok := f.devices[productID+"/"+deviceName]
	if !ok {
		return DeviceAuth{}, fmt.Errorf("device %s/%s: %w", productID, deviceName, registry.ErrDeviceNotFound)
	}
	return d, nil
}

func newCert(t testing.TB, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Unix(1_700_000_000, 0),
		NotAfter:     time.Unix(2_000_000_000, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fingerprint(c *x509.Certificate) string {
	s := sha256.Sum256(c.Raw)
	return hex.EncodeToString(s[:])
}

// connect builds a key-signed CONNECT for pid/dn.
func connect(t testing.TB, pid, dn, psk, method, expiry string) ConnectRequest {
	t.Helper()
	user := pid + dn + ";21010406;VhI85;" + expiry
	pass, err := protocol.SignPassword(psk, user, method)
	if err != nil {
		t.Fatal(err)
	}
	return ConnectRequest{ClientID: pid + dn, Username: user, Password: []byte(pass), ProtocolLevel: 4}
}

func TestAuthenticate(t *testing.T) {
	now := time.Unix(1_795_627_000, 0)
	cert := newCert(t, "CERTPROD01cdev")
	other := newCert(t, "CERTPROD01cdev")
	src := &fakeSource{devices: map[string]DeviceAuth{
		"AB12CD34EF/dev001": {ProductID: "AB12CD34EF", DeviceName: "dev001", EncryptionType: registry.EncryptionKey, Enabled: true, PSK: testPSK,
			Topics: []registry.TopicPolicy{{ProductID: "AB12CD34EF", Name: "custom", Privilege: registry.PrivilegeBoth}}},
		"AB12CD34EF/off":     {EncryptionType: registry.EncryptionKey, Enabled: false, PSK: testPSK},
		"AB12CD34EF/badpsk":  {EncryptionType: registry.EncryptionKey, Enabled: true, PSK: "%%%"},
		"GATEWAY001/gw":      {EncryptionType: registry.EncryptionKey, Enabled: true, PSK: testPSK, ProductType: registry.ProductTypeGateway},
		"CERTPROD01/cdev":    {EncryptionType: registry.EncryptionCert, Enabled: true, CertSHA256: fingerprint(cert)},
		"CERTPROD01/cdevoff": {EncryptionType: registry.EncryptionCert, Enabled: false, CertSHA256: fingerprint(cert)},
	}}
	auth := NewAuthenticator(Config{Source: src, Now: func() time.Time { return now }})

	good := connect(t, "AB12CD34EF", "dev001", testPSK, protocol.MethodHMACSHA1, "92233720368547758")
	with := func(r ConnectRequest, f func(*ConnectRequest)) ConnectRequest { f(&r); return r }

	tests := []struct {
		name       string
		req        ConnectRequest
		wantCode   byte
		wantErr    error
		wantMethod string
	}{
		{name: "C SDK sha1", req: good, wantMethod: protocol.MethodHMACSHA1},
		{name: "sha256 expiry in future", req: connect(t, "AB12CD34EF", "dev001", testPSK, protocol.MethodHMACSHA256, "1795627600"), wantMethod: protocol.MethodHMACSHA256},
		{name: "Python MQTT 3.1 ms time", req: with(connect(t, "AB12CD34EF", "dev001", testPSK, protocol.MethodHMACSHA1, "1795627215370"), func(r *ConnectRequest) { r.ProtocolLevel = 3 }), wantMethod: protocol.MethodHMACSHA1},
		{name: "Java 0x7fffffff", req: connect(t, "AB12CD34EF", "dev001", testPSK, protocol.MethodHMACSHA256, "2147483647"), wantMethod: protocol.MethodHMACSHA256},
		{name: "gateway", req: connect(t, "GATEWAY001", "gw", testPSK, protocol.MethodHMACSHA1, "2147483647"), wantMethod: protocol.MethodHMACSHA1},
		{name: "MQTT 5", req: with(good, func(r *ConnectRequest) { r.ProtocolLevel = 5 }), wantCode: 0x01, wantErr: ErrBadProtocolVersion},
		{name: "client id not of username", req: with(good, func(r *ConnectRequest) { r.ClientID = "AB12CD34EFdev002" }), wantCode: 0x02, wantErr: ErrBadClientID},
		{name: "malformed client id", req: with(good, func(r *ConnectRequest) { r.ClientID = "short" }), wantCode: 0x02, wantErr: ErrBadClientID},
		{name: "malformed username", req: with(good, func(r *ConnectRequest) { r.Username = "AB12CD34EFdev001;x" }), wantCode: 0x04, wantErr: ErrBadUsername},
		{name: "no username", req: with(good, func(r *ConnectRequest) { r.Username = "" }), wantCode: 0x04, wantErr: ErrBadUsername},
		{name: "bad signature", req: with(good, func(r *ConnectRequest) { r.Password = []byte("00" + string(r.Password[2:])) }), wantCode: 0x04, wantErr: ErrBadSignature},
		{name: "no password", req: with(good, func(r *ConnectRequest) { r.Password = nil }), wantCode: 0x04, wantErr: ErrBadSignature},
		{name: "wrong secret", req: connect(t, "AB12CD34EF", "dev001", "MTIzNDU2Nzg5MGFiY2RlZg==", protocol.MethodHMACSHA1, "2147483647"), wantCode: 0x04, wantErr: ErrBadSignature},
		{name: "unsupported method", req: with(good, func(r *ConnectRequest) { r.Password = []byte("abcd;hmacmd5") }), wantCode: 0x04, wantErr: ErrUnsupportedMethod},
		{name: "expired", req: connect(t, "AB12CD34EF", "dev001", testPSK, protocol.MethodHMACSHA1, "1795626999"), wantCode: 0x04, wantErr: ErrExpired},
		{name: "unknown device", req: connect(t, "AB12CD34EF", "nobody", testPSK, protocol.MethodHMACSHA1, "2147483647"), wantCode: 0x04, wantErr: ErrUnknownDevice},
		{name: "stored secret not base64", req: connect(t, "AB12CD34EF", "badpsk", testPSK, protocol.MethodHMACSHA1, "2147483647"), wantCode: 0x04, wantErr: ErrBadSignature},
		{name: "disabled", req: connect(t, "AB12CD34EF", "off", testPSK, protocol.MethodHMACSHA1, "2147483647"), wantCode: 0x05, wantErr: ErrDisabled},
		{name: "key login to cert product", req: connect(t, "CERTPROD01", "cdev", testPSK, protocol.MethodHMACSHA1, "2147483647"), wantCode: 0x05, wantErr: ErrAuthTypeMismatch},
		{name: "TLS-PSK", req: with(good, func(r *ConnectRequest) { r.Password = nil; r.PSKIdentity = "AB12CD34EFdev001" }), wantMethod: MethodPSK},
		{name: "TLS-PSK without username", req: ConnectRequest{ClientID: "AB12CD34EFdev001", PSKIdentity: "AB12CD34EFdev001", ProtocolLevel: 4}, wantMethod: MethodPSK},
		{name: "TLS-PSK other device", req: with(good, func(r *ConnectRequest) { r.PSKIdentity = "AB12CD34EFdev002" }), wantCode: 0x02, wantErr: ErrBadClientID},
		{name: "TLS-PSK to cert product", req: ConnectRequest{ClientID: "CERTPROD01cdev", PSKIdentity: "CERTPROD01cdev", ProtocolLevel: 4}, wantCode: 0x05, wantErr: ErrAuthTypeMismatch},
		{name: "cert", req: ConnectRequest{ClientID: "CERTPROD01cdev", Username: "CERTPROD01cdev;21010406;abcde;92233720368547758", ProtocolLevel: 4, PeerCertificates: []*x509.Certificate{cert}}, wantMethod: MethodCert},
		{name: "cert, password ignored", req: ConnectRequest{ClientID: "CERTPROD01cdev", Username: "CERTPROD01cdev;1;a;0", Password: []byte("junk"), ProtocolLevel: 4, PeerCertificates: []*x509.Certificate{cert}}, wantMethod: MethodCert},
		{name: "cert of another device", req: ConnectRequest{ClientID: "CERTPROD01cdev", ProtocolLevel: 4, PeerCertificates: []*x509.Certificate{other}}, wantCode: 0x04, wantErr: ErrCertificate},
		{name: "cert, username names another device", req: ConnectRequest{ClientID: "CERTPROD01cdev", Username: "CERTPROD01cdev2;1;a;1", ProtocolLevel: 4, PeerCertificates: []*x509.Certificate{cert}}, wantCode: 0x02, wantErr: ErrBadClientID},
		{name: "cert login to key product", req: with(good, func(r *ConnectRequest) { r.PeerCertificates = []*x509.Certificate{cert} }), wantCode: 0x05, wantErr: ErrAuthTypeMismatch},
		{name: "cert, disabled", req: ConnectRequest{ClientID: "CERTPROD01cdevoff", ProtocolLevel: 4, PeerCertificates: []*x509.Certificate{cert}}, wantCode: 0x05, wantErr: ErrDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := auth.Authenticate(context.Background(), tt.req)
			if got := ConnackCode(err); got != tt.wantCode {
				t.Fatalf("ConnackCode = 0x%02x, want 0x%02x (err %v)", got, tt.wantCode, err)
			}
			if tt.wantErr != nil {
				var e *Error
				if !errors.As(err, &e) || e.ConnackCode() != tt.wantCode {
					t.Errorf("err %v is not an *Error with code 0x%02x", err, tt.wantCode)
				}
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if id.Method != tt.wantMethod || id.ClientID != tt.req.ClientID || id.ProtocolLevel != tt.req.ProtocolLevel || id.ACL == nil {
				t.Fatalf("identity %+v", id)
			}
			if id.ProductID+id.DeviceName != id.ClientID {
				t.Errorf("identity names %s/%s", id.ProductID, id.DeviceName)
			}
			if !id.ACL.CanPublish(protocol.ThingUp(protocol.KindProperty, id.ProductID, id.DeviceName)) {
				t.Error("ACL refuses the device's own property topic")
			}
			wantGW := id.ProductID == "GATEWAY001"
			if id.Gateway != wantGW || id.ACL.CanPublish("$gateway/operation/"+id.ProductID+"/"+id.DeviceName) != wantGW {
				t.Errorf("gateway = %v, want %v", id.Gateway, wantGW)
			}
		})
	}

	t.Run("custom topics and sdkappid", func(t *testing.T) {
		id, err := auth.Authenticate(context.Background(), good)
		if err != nil {
			t.Fatal(err)
		}
		if id.SDKAppID != "21010406" {
			t.Errorf("SDKAppID %q", id.SDKAppID)
		}
		if !id.ACL.CanSubscribe("AB12CD34EF/dev001/custom") || !id.ACL.CanPublish("AB12CD34EF/dev001/custom") {
			t.Error("custom topic policy not applied")
		}
	})
}

func TestAuthenticateSourceFailure(t *testing.T) {
	src := &fakeSource{err: errors.New("database is down")}
	auth := NewAuthenticator(Config{Source: src})
	_, err := auth.Authenticate(context.Background(), connect(t, "AB12CD34EF", "dev001", testPSK, protocol.MethodHMACSHA1, "2147483647"))
	if got := ConnackCode(err); got != 0x03 {
		t.Fatalf("ConnackCode = 0x%02x, want 0x03 (err %v)", got, err)
	}
	// A malformed client id is refused before any lookup.
	before := src.calls.Load()
	_, err = auth.Authenticate(context.Background(), ConnectRequest{ClientID: "x", ProtocolLevel: 4})
	if ConnackCode(err) != 0x02 || src.calls.Load() != before {
		t.Errorf("err %v, lookups %d", err, src.calls.Load()-before)
	}
}

func TestConnackCode(t *testing.T) {
	tests := []struct {
		err  error
		want byte
	}{
		{nil, 0},
		{ErrBadProtocolVersion, 0x01},
		{ErrBadClientID, 0x02},
		{ErrUnknownDevice, 0x04},
		{ErrBadSignature, 0x04},
		{ErrExpired, 0x04},
		{ErrUnsupportedMethod, 0x04},
		{ErrCertificate, 0x04},
		{ErrDisabled, 0x05},
		{ErrAuthTypeMismatch, 0x05},
		{fmt.Errorf("wrapped: %w", ErrDisabled), 0x05},
		{errors.New("other"), 0x03},
	}
	for _, tt := range tests {
		if got := ConnackCode(tt.err); got != tt.want {
			t.Errorf("ConnackCode(%v) = 0x%02x, want 0x%02x", tt.err, got, tt.want)
		}
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	src := &fakeSource{devices: map[string]DeviceAuth{
		"AB12CD34EF/dev001": {EncryptionType: registry.EncryptionKey, Enabled: true, PSK: testPSK},
	}}
	auth := NewAuthenticator(Config{Source: src})
	req := connect(b, "AB12CD34EF", "dev001", testPSK, protocol.MethodHMACSHA256, "2147483647")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := auth.Authenticate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
