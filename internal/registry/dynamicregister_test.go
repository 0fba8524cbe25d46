package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/registry/registrytest"
	"github.com/thingo-iot/thingo/internal/secretbox"
)

func newDynregService(t *testing.T) (*registry.Service, *registrytest.Store) {
	t.Helper()
	box, err := secretbox.New(make([]byte, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	st := registrytest.NewStore()
	return registry.NewService(st, box, &selfSigned{}, nil), st
}

func TestDynamicRegisterSettings(t *testing.T) {
	ctx := context.Background()
	svc, _ := newDynregService(t)
	p := mustProduct(t, svc, registry.EncryptionKey)

	s1, err := svc.DynamicRegister(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(s1.ProductSecret) < 24 || s1.Type != registry.RegisterOff || s1.Limit != 0 {
		t.Fatalf("initial settings = %+v", s1)
	}
	s2, err := svc.DynamicRegister(ctx, p.ID)
	if err != nil || s2.ProductSecret != s1.ProductSecret {
		t.Fatalf("secret changed: %q then %q (%v)", s1.ProductSecret, s2.ProductSecret, err)
	}
	if _, err := svc.DynamicRegister(ctx, "NOPRODUCT0"); !errors.Is(err, registry.ErrProductNotFound) {
		t.Errorf("unknown product: %v", err)
	}

	allow := true
	tests := []struct {
		name    string
		in      registry.DynamicRegisterUpdate
		wantErr bool
	}{
		{"auto create", registry.DynamicRegisterUpdate{Type: 2, Limit: 10, AllowReregister: &allow}, false},
		{"pre-created keeps allow", registry.DynamicRegisterUpdate{Type: 1, Limit: 0}, false},
		{"bad type", registry.DynamicRegisterUpdate{Type: 3}, true},
		{"negative limit", registry.DynamicRegisterUpdate{Type: 1, Limit: -1}, true},
		{"huge limit", registry.DynamicRegisterUpdate{Type: 1, Limit: registry.MaxRegisterLimit + 1}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := svc.ModifyDynamicRegister(ctx, p.ID, tc.in)
			var inv *registry.InvalidError
			if tc.wantErr {
				if !errors.As(err, &inv) {
					t.Fatalf("err = %v, want InvalidError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != tc.in.Type || got.Limit != tc.in.Limit || !got.AllowReregister || got.ProductSecret != s1.ProductSecret {
				t.Errorf("settings = %+v", got)
			}
		})
	}
}

func TestRegisterDevice(t *testing.T) {
	ctx := context.Background()
	svc, st := newDynregService(t)
	key := mustProduct(t, svc, registry.EncryptionKey)
	cert := mustProduct(t, svc, registry.EncryptionCert)
	for _, id := range []string{key.ID, cert.ID} {
		if _, err := svc.ModifyDynamicRegister(ctx, id, registry.DynamicRegisterUpdate{Type: 2, Limit: 2}); err != nil {
			t.Fatal(err)
		}
	}
	pre, err := svc.CreateDevice(ctx, key.ID, "pre", "")
	if err != nil {
		t.Fatal(err)
	}

	// Auto-create: a new key device gets a PSK that authenticates it.
	got, err := svc.RegisterDevice(ctx, key.ID, "new1", true)
	if err != nil || got.PSK == "" {
		t.Fatalf("register new1: %+v %v", got, err)
	}
	det, err := svc.GetDevice(ctx, key.ID, "new1")
	if err != nil || det.PSK != got.PSK {
		t.Fatalf("stored psk %q, handed out %q (%v)", det.PSK, got.PSK, err)
	}
	// Pre-created device: its existing PSK; does not count against the limit.
	again, err := svc.RegisterDevice(ctx, key.ID, "pre", false)
	if err != nil || again.PSK != pre.PSK {
		t.Fatalf("register pre: %+v %v", again, err)
	}
	if _, err := svc.RegisterDevice(ctx, key.ID, "unknown", false); !errors.Is(err, registry.ErrDeviceNotFound) {
		t.Errorf("unknown in pre-created mode: %v", err)
	}
	if _, err := svc.RegisterDevice(ctx, key.ID, "new2", true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RegisterDevice(ctx, key.ID, "new3", true); !errors.Is(err, registry.ErrRegisterLimit) {
		t.Errorf("over limit: %v", err)
	}
	if _, err := svc.RegisterDevice(ctx, key.ID, "bad name!", true); err == nil {
		t.Error("bad name accepted")
	}

	// Once connected, the secret is not handed out again unless allowed.
	if err := st.RecordConnect(ctx, key.ID, "pre", registry.Presence{Online: true, LastLogin: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RegisterDevice(ctx, key.ID, "pre", false); !errors.Is(err, registry.ErrDeviceActivated) {
		t.Errorf("active device: %v", err)
	}
	allow := true
	if _, err := svc.ModifyDynamicRegister(ctx, key.ID, registry.DynamicRegisterUpdate{Type: 2, Limit: 2, AllowReregister: &allow}); err != nil {
		t.Fatal(err)
	}
	if r, err := svc.RegisterDevice(ctx, key.ID, "pre", false); err != nil || r.PSK != pre.PSK {
		t.Errorf("re-register allowed: %+v %v", r, err)
	}

	// Certificate product: a certificate and key, replaced at re-registration.
	c1, err := svc.RegisterDevice(ctx, cert.ID, "c1", true)
	if err != nil || c1.CertPEM == "" || c1.KeyPEM == "" || c1.PSK != "" {
		t.Fatalf("register cert device: %+v %v", c1, err)
	}
	c2, err := svc.RegisterDevice(ctx, cert.ID, "c1", true)
	if err != nil || c2.CertPEM == c1.CertPEM {
		t.Fatalf("re-register cert device: %v", err)
	}
	det, err = svc.GetDevice(ctx, cert.ID, "c1")
	if err != nil || det.Device.CertPEM != c2.CertPEM {
		t.Errorf("stored cert is not the last issued one (%v)", err)
	}
}

func TestRegistrationSettingsNeverWrites(t *testing.T) {
	ctx := context.Background()
	svc, st := newDynregService(t)
	p := mustProduct(t, svc, registry.EncryptionKey)
	if _, err := svc.RegistrationSettings(ctx, p.ID); !errors.Is(err, registry.ErrProductNotFound) {
		t.Fatalf("untouched product: %v, want ErrProductNotFound", err)
	}
	if _, err := st.GetDynamicRegister(ctx, p.ID); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("settings were created: %v", err)
	}
	if _, err := svc.RegisterDevice(ctx, p.ID, "d", true); !errors.Is(err, registry.ErrProductNotFound) {
		t.Errorf("register on untouched product: %v", err)
	}
	want, err := svc.DynamicRegister(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.RegistrationSettings(ctx, p.ID)
	if err != nil || got.ProductSecret != want.ProductSecret {
		t.Errorf("RegistrationSettings = %+v, %v", got, err)
	}
}
