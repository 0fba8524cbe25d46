package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/secretbox"
	"github.com/thingo-iot/thingo/internal/store/sqlite"
	"github.com/thingo-iot/thingo/protocol"
)

// TestAuthCacheFollowsRegistry: with the CONNECT path's device cache in
// front of the registry (as New wires it), every registry change that
// affects authentication is seen by the very next CONNECT, well within the
// cache's TTL.
func TestAuthCacheFollowsRegistry(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "thingo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secretbox.New(make([]byte, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	src := &deviceSource{}
	cache := devauth.NewCache(src, devauth.CacheConfig{TTL: time.Hour})
	reg := registry.NewService(newAuthStore(st, cache, time.Hour), box, nil, nil)
	src.reg = reg
	auth := devauth.NewAuthenticator(devauth.Config{Source: cache})

	prj, err := reg.CreateProject(ctx, registry.ProjectInput{Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	prod, err := reg.CreateProduct(ctx, registry.ProductInput{ProjectID: prj.ID, Name: "cachetest",
		CategoryID: 1, EncryptionType: registry.EncryptionKey, NetType: "wifi", DataProtocol: 1})
	if err != nil {
		t.Fatal(err)
	}
	pid := prod.ID
	dev, err := reg.CreateDevice(ctx, pid, "dev1", "")
	if err != nil {
		t.Fatal(err)
	}
	connect := func() (devauth.Identity, error) {
		cid, user, pass, err := protocol.DeviceCredentials(pid, "dev1", dev.PSK, "hmacsha256", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return auth.Authenticate(ctx, devauth.ConnectRequest{ClientID: cid, Username: user, Password: []byte(pass), ProtocolLevel: 4})
	}
	custom := fmt.Sprintf("%s/dev1/custom", pid)

	steps := []struct {
		name       string
		change     func() error
		wantErr    error
		wantCustom bool // the ACL lets the device publish on custom
	}{
		{"first connect", func() error { return nil }, nil, false},
		{"cached connect", func() error { return nil }, nil, false},
		{"topic policy created", func() error {
			_, err := reg.CreateTopicPolicy(ctx, pid, "custom", registry.PrivilegePublish)
			return err
		}, nil, true},
		{"disabled", func() error { return reg.SetDeviceEnabled(ctx, pid, "dev1", registry.Disabled) }, devauth.ErrDisabled, false},
		{"enabled again", func() error { return reg.SetDeviceEnabled(ctx, pid, "dev1", registry.Enabled) }, nil, true},
		{"topic policy deleted", func() error { return reg.DeleteTopicPolicy(ctx, pid, "custom") }, nil, false},
		{"deleted", func() error { return reg.DeleteDevice(ctx, pid, "dev1") }, devauth.ErrUnknownDevice, false},
	}
	for _, s := range steps {
		if err := s.change(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		id, err := connect()
		if !errors.Is(err, s.wantErr) {
			t.Fatalf("%s: connect: %v, want %v", s.name, err, s.wantErr)
		}
		if err == nil && id.ACL.CanPublish(custom) != s.wantCustom {
			t.Fatalf("%s: may publish on %s: %v, want %v", s.name, custom, !s.wantCustom, s.wantCustom)
		}
	}
}

// TestInvalidatingStoreForwardsDynreg: the wrapper keeps the registry's
// dynamic registration working (it is found by a type assertion).
func TestInvalidatingStoreForwardsDynreg(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "thingo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secretbox.New(make([]byte, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	cache := devauth.NewCache(&deviceSource{}, devauth.CacheConfig{})
	reg := registry.NewService(invalidatingStore{Store: st, auth: cache}, box, nil, nil)
	pid, _ := newKeyProduct(t, reg, registry.RegisterAutoCreate, 5)
	if _, err := reg.RegisterDevice(ctx, pid, "newdev", true); err != nil {
		t.Fatalf("register: %v", err)
	}
	if _, err := reg.GetDevice(ctx, pid, "newdev"); err != nil {
		t.Fatalf("registered device: %v", err)
	}
}
