package registry_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/registry/registrytest"
	"github.com/thingo-iot/thingo/internal/secretbox"
)

// selfSigned issues throwaway certificates; it stands in for internal/pki.
type selfSigned struct{ lastDER []byte }

func (s *selfSigned) IssueDeviceCert(productID, deviceName string) (string, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: productID + deviceName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	s.lastDER = der
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})), nil
}

func newService(t *testing.T) (*registry.Service, *selfSigned) {
	t.Helper()
	box, err := secretbox.New(make([]byte, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	iss := &selfSigned{}
	return registry.NewService(registrytest.NewStore(), box, iss, nil), iss
}

func mustProduct(t *testing.T, svc *registry.Service, enc string) registry.Product {
	t.Helper()
	ctx := context.Background()
	prj, err := svc.CreateProject(ctx, registry.ProjectInput{Name: "home", Desc: "d"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.CreateProduct(ctx, registry.ProductInput{ProjectID: prj.ID, Name: "lamp" + enc, CategoryID: 1,
		EncryptionType: enc, NetType: "wifi", DataProtocol: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCreateProductValidation(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	prj, err := svc.CreateProject(ctx, registry.ProjectInput{Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(prj.ID, "prj-") {
		t.Errorf("project id %q", prj.ID)
	}
	good := registry.ProductInput{ProjectID: prj.ID, Name: "ok", CategoryID: 1, EncryptionType: "2", NetType: "wifi", DataProtocol: 1}
	tests := []struct {
		name  string
		edit  func(*registry.ProductInput)
		field string // "" = success
		err   error
	}{
		{"valid", func(*registry.ProductInput) {}, "", nil},
		{"chinese name", func(p *registry.ProductInput) { p.Name = "智能灯" }, "", nil},
		{"empty name", func(p *registry.ProductInput) { p.Name = "" }, "ProductName", nil},
		{"space in name", func(p *registry.ProductInput) { p.Name = "a b" }, "ProductName", nil},
		{"long name", func(p *registry.ProductInput) { p.Name = strings.Repeat("a", 33) }, "ProductName", nil},
		{"bad product type", func(p *registry.ProductInput) { p.ProductType = 3 }, "ProductType", nil},
		{"tid", func(p *registry.ProductInput) { p.EncryptionType = "21" }, "EncryptionType", nil},
		{"net type", func(p *registry.ProductInput) { p.NetType = "" }, "NetType", nil},
		{"protocol", func(p *registry.ProductInput) { p.DataProtocol = 3 }, "DataProtocol", nil},
		{"unknown project", func(p *registry.ProductInput) { p.ProjectID = "prj-none" }, "", registry.ErrProjectNotFound},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := good
			in.Name = in.Name + strings.Repeat("x", i%3) + string(rune('a'+i))
			tt.edit(&in)
			p, err := svc.CreateProduct(ctx, in)
			var inv *registry.InvalidError
			switch {
			case tt.field != "":
				if !errors.As(err, &inv) || inv.Field != tt.field {
					t.Fatalf("err = %v, want InvalidError on %s", err, tt.field)
				}
			case tt.err != nil:
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if !registry.ValidProductID(p.ID) || p.DevStatus != "dev" {
					t.Errorf("product %+v", p)
				}
			}
		})
	}
	// Names are unique.
	in := good
	in.Name = "dup"
	if _, err := svc.CreateProduct(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateProduct(ctx, in); !errors.Is(err, registry.ErrProductExists) {
		t.Errorf("duplicate name: err = %v", err)
	}
}

func TestCreateKeyDevice(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	p := mustProduct(t, svc, registry.EncryptionKey)
	defined := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	tests := []struct {
		name, device, psk string
		field             string
		err               error
	}{
		{"random psk", "dev1", "", "", nil},
		{"defined psk", "dev:2_-x", defined, "", nil},
		{"duplicate", "dev1", "", "", registry.ErrDeviceExists},
		{"bad name", "dev 3", "", "DeviceName", nil},
		{"long name", strings.Repeat("d", 49), "", "DeviceName", nil},
		{"psk not base64", "dev4", "!!!", "DefinedPsk", nil},
		{"psk too short", "dev5", base64.StdEncoding.EncodeToString([]byte("1234567")), "DefinedPsk", nil},
		{"psk too long", "dev6", base64.StdEncoding.EncodeToString(make([]byte, 65)), "DefinedPsk", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := svc.CreateDevice(ctx, p.ID, tt.device, tt.psk)
			var inv *registry.InvalidError
			switch {
			case tt.field != "":
				if !errors.As(err, &inv) || inv.Field != tt.field {
					t.Fatalf("err = %v, want InvalidError on %s", err, tt.field)
				}
				return
			case tt.err != nil:
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			raw, err := base64.StdEncoding.DecodeString(out.PSK)
			if err != nil || len(raw) < 8 {
				t.Fatalf("psk %q", out.PSK)
			}
			if tt.psk != "" && out.PSK != tt.psk {
				t.Errorf("psk = %q, want defined %q", out.PSK, tt.psk)
			}
			if strings.Contains(string(out.Device.SealedPSK), out.PSK) {
				t.Error("psk stored in the clear")
			}
			cred, err := svc.DeviceAuth(ctx, p.ID, tt.device)
			if err != nil {
				t.Fatal(err)
			}
			if cred.PSK != out.PSK || string(cred.Key) != string(raw) || !cred.Enabled || cred.EncryptionType != "2" {
				t.Errorf("DeviceAuth = %+v", cred)
			}
		})
	}
	if _, err := svc.CreateDevice(ctx, "NOPRODUCT1", "d", ""); !errors.Is(err, registry.ErrProductNotFound) {
		t.Errorf("unknown product: err = %v", err)
	}
}

func TestCreateCertDevice(t *testing.T) {
	svc, iss := newService(t)
	ctx := context.Background()
	p := mustProduct(t, svc, registry.EncryptionCert)
	out, err := svc.CreateDevice(ctx, p.ID, "cam1", "")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(iss.lastDER)
	if out.Device.CertSHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("CertSHA256 = %s", out.Device.CertSHA256)
	}
	if out.KeyPEM == "" || out.PSK != "" || len(out.Device.SealedPSK) != 0 {
		t.Errorf("created %+v", out)
	}
	det, err := svc.GetDevice(ctx, p.ID, "cam1")
	if err != nil {
		t.Fatal(err)
	}
	if det.Device.CertPEM != out.CertPEM || strings.Contains(det.Device.CertPEM, "PRIVATE") {
		t.Error("stored cert differs or holds the key")
	}
	if _, err := svc.CreateDevice(ctx, p.ID, "cam2", "MDEyMzQ1Njc4OWFiY2RlZg=="); !errors.Is(err, registry.ErrPSKNotSupported) {
		t.Errorf("psk on cert product: err = %v", err)
	}
	if _, err := svc.CreateDevice(ctx, p.ID, "cam1", ""); !errors.Is(err, registry.ErrDeviceExists) {
		t.Errorf("duplicate: err = %v", err)
	}

	noIssuer := registry.NewService(registrytest.NewStore(), nil, nil, nil)
	p2 := mustProduct(t, noIssuer, registry.EncryptionCert)
	if _, err := noIssuer.CreateDevice(ctx, p2.ID, "cam1", ""); !errors.Is(err, registry.ErrCertUnavailable) {
		t.Errorf("no issuer: err = %v", err)
	}
}

func TestTopicPolicies(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	p := mustProduct(t, svc, registry.EncryptionKey)
	if _, err := svc.CreateTopicPolicy(ctx, p.ID, "cmd/in", registry.PrivilegeSubscribe); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, topic string
		priv        uint64
		field       string
		err         error
	}{
		{"duplicate", "cmd/in", 1, "", registry.ErrTopicExists},
		{"wildcard", "cmd/+", 1, "TopicName", nil},
		{"empty level", "a//b", 1, "TopicName", nil},
		{"privilege", "x", 4, "Privilege", nil},
		{"unknown product", "x", 1, "", registry.ErrProductNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pid := p.ID
			if tt.err == registry.ErrProductNotFound {
				pid = "NOPRODUCT1"
			}
			_, err := svc.CreateTopicPolicy(ctx, pid, tt.topic, tt.priv)
			var inv *registry.InvalidError
			if tt.field != "" {
				if !errors.As(err, &inv) || inv.Field != tt.field {
					t.Fatalf("err = %v, want InvalidError on %s", err, tt.field)
				}
			} else if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
		})
	}
	if _, err := svc.ModifyTopicPolicy(ctx, p.ID, "cmd/in", "cmd/down", registry.PrivilegeBoth); err != nil {
		t.Fatal(err)
	}
	ts, err := svc.ListTopicPolicies(ctx, p.ID)
	if err != nil || len(ts) != 1 || ts[0].Name != "cmd/down" || ts[0].Privilege != 3 {
		t.Fatalf("ListTopicPolicies = %+v, %v", ts, err)
	}
	if err := svc.DeleteTopicPolicy(ctx, p.ID, "cmd/in"); !errors.Is(err, registry.ErrTopicNotFound) {
		t.Errorf("delete renamed: err = %v", err)
	}
}

func TestEnableAndDelete(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	p := mustProduct(t, svc, registry.EncryptionKey)
	if _, err := svc.CreateDevice(ctx, p.ID, "d1", ""); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetDeviceEnabled(ctx, p.ID, "d1", registry.Disabled); err != nil {
		t.Fatal(err)
	}
	cred, err := svc.DeviceAuth(ctx, p.ID, "d1")
	if err != nil || cred.Enabled {
		t.Fatalf("DeviceAuth after disable = %+v, %v", cred, err)
	}
	if err := svc.SetDeviceEnabled(ctx, p.ID, "d1", 7); err == nil {
		t.Error("state 7 accepted")
	}
	if err := svc.DeleteProduct(ctx, p.ID); !errors.Is(err, registry.ErrProductHasDevices) {
		t.Errorf("delete product with devices: err = %v", err)
	}
	if err := svc.DeleteDevice(ctx, p.ID, "d1"); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteProject(ctx, p.ProjectID); !errors.Is(err, registry.ErrProjectHasProducts) {
		t.Errorf("delete project with products: err = %v", err)
	}
	if err := svc.DeleteProduct(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteProject(ctx, p.ProjectID); err != nil {
		t.Fatal(err)
	}
}
