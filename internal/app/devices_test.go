package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/thingo-iot/thingo/internal/devicehttp"
	"github.com/thingo-iot/thingo/internal/dynreg"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/secretbox"
	"github.com/thingo-iot/thingo/internal/store/sqlite"
	"github.com/thingo-iot/thingo/protocol"
)

func newRegistry(t testing.TB) *registry.Service {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "thingo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secretbox.New(make([]byte, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return registry.NewService(st, box, nil, nil)
}

func newKeyProduct(t testing.TB, reg *registry.Service, typ int, limit int64) (pid, secret string) {
	t.Helper()
	ctx := context.Background()
	prj, err := reg.CreateProject(ctx, registry.ProjectInput{Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := reg.CreateProduct(ctx, registry.ProductInput{ProjectID: prj.ID, Name: fmt.Sprintf("p%d", time.Now().UnixNano()),
		CategoryID: 1, EncryptionType: registry.EncryptionKey, NetType: "wifi", DataProtocol: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := reg.ModifyDynamicRegister(ctx, p.ID, registry.DynamicRegisterUpdate{Type: typ, Limit: limit})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID, s.ProductSecret
}

func TestDynregProducts(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	pid, secret := newKeyProduct(t, reg, registry.RegisterAutoCreate, 1)
	p := dynregProducts{reg}

	s, err := p.RegisterSettings(ctx, pid)
	if err != nil || s.ProductSecret != secret || s.Type != dynreg.ModeAutoCreate || s.Limit != 1 || s.EncryptionType != dynreg.EncryptionKey {
		t.Fatalf("settings %+v (%v)", s, err)
	}
	if _, err := p.RegisterSettings(ctx, "NOPRODUCT0"); !errors.Is(err, dynreg.ErrProductNotFound) {
		t.Errorf("unknown product: %v", err)
	}
	if _, err := reg.CreateDevice(ctx, pid, "active", ""); err != nil {
		t.Fatal(err)
	}
	if err := reg.RecordConnect(ctx, pid, "active", registry.Presence{Online: true, LastLogin: time.Now()}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		device  string
		create  bool
		wantErr error
	}{
		{"creates", "d1", true, nil},
		{"limit", "d2", true, dynreg.ErrLimitReached},
		{"unknown", "d3", false, dynreg.ErrUnknownDevice},
		{"active", "active", false, dynreg.ErrAlreadyActive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := p.Register(ctx, pid, tc.device, tc.create)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && r.PSK == "" {
				t.Error("no psk")
			}
		})
	}
}

// BenchmarkRegister measures new-API registrations per second through the
// HTTP handler, the registry and SQLite (each creates a device).
func BenchmarkRegister(b *testing.B) {
	reg := newRegistry(b)
	pid, secret := newKeyProduct(b, reg, registry.RegisterAutoCreate, 0)
	svc := dynreg.New(dynregProducts{reg}, dynreg.Config{
		IPRate: rate.Inf, ProductRate: rate.Inf, ReplayCacheSize: 10_000_000,
	})
	h := devicehttp.NewRegisterHandler(svc, slog.New(slog.DiscardHandler)).Handler()
	now := time.Now().Unix()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body := []byte(fmt.Sprintf(`{"ProductId":"%s","DeviceName":"bench%d"}`, pid, i))
		p := protocol.HTTPSignParams{Method: http.MethodPost, Host: "example.com", Path: protocol.PathRegisterNew,
			Algorithm: "hmacsha256", Timestamp: fmt.Sprint(now), Nonce: fmt.Sprint(i + 1), Body: body}
		sig, err := protocol.SignHTTP(secret, p)
		if err != nil {
			b.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, "http://example.com"+protocol.PathRegisterNew, bytes.NewReader(body))
		p.SetHeaders(r.Header, sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if !bytes.Contains(w.Body.Bytes(), []byte(`"Payload"`)) {
			b.Fatalf("registration %d: %s", i, w.Body.String())
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "registrations/s")
}
