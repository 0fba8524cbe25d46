package dynreg_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/thingo-iot/thingo/internal/dynreg"
	"github.com/thingo-iot/thingo/internal/dynreg/dynregtest"
	"github.com/thingo-iot/thingo/protocol"
)

const secret = "PRODUCTSECRET0123456789a"

var now = time.Unix(1795627951, 0)

var errBadSignature = errors.New("bad signature")

func newProducts() *dynregtest.Products {
	p := dynregtest.NewProducts()
	key := func(m dynreg.Mode) dynreg.Settings {
		return dynreg.Settings{Type: m, ProductSecret: secret, EncryptionType: dynreg.EncryptionKey}
	}
	p.AddProduct("AUTO000001", key(dynreg.ModeAutoCreate), map[string]bool{"active": true})
	pre := key(dynreg.ModePreCreated)
	pre.Limit = 1
	p.AddProduct("PRE0000001", pre, map[string]bool{"known": false, "active": true})
	p.AddProduct("OFF0000001", key(dynreg.ModeOff), nil)
	p.AddProduct("CERT000001", dynreg.Settings{Type: dynreg.ModeAutoCreate, ProductSecret: secret,
		EncryptionType: dynreg.EncryptionCert}, nil)
	p.AddProduct("BROKEN0001", dynreg.Settings{Type: dynreg.ModeAutoCreate, ProductSecret: secret,
		EncryptionType: dynregtest.EncryptionBroken}, nil)
	return p
}

// request is a request signed with the secret sig: Verify accepts exactly
// that secret.
func request(pid, dn, nonce, sig string, ts time.Time) dynreg.Request {
	return dynreg.Request{ProductID: pid, DeviceName: dn, Timestamp: ts, Nonce: nonce, ClientIP: "192.0.2.1",
		Verify: func(productSecret string) error {
			if productSecret != sig {
				return errBadSignature
			}
			return nil
		}}
}

func TestServiceRegister(t *testing.T) {
	tests := []struct {
		name    string
		req     dynreg.Request
		wantErr error // nil: success
		cert    bool
	}{
		{"auto-create", request("AUTO000001", "new1", "1", secret, now), nil, false},
		{"certificate", request("CERT000001", "c1", "2", secret, now), nil, true},
		{"pre-created known", request("PRE0000001", "known", "3", secret, now), nil, false},
		{"bad product id", request("bad id", "d", "4", secret, now), dynreg.ErrInvalidRequest, false},
		{"bad device name", request("AUTO000001", "bad name", "5", secret, now), dynreg.ErrInvalidRequest, false},
		{"bad signature", request("AUTO000001", "d", "6", "wrong", now), dynreg.ErrAuth, false},
		{"unknown product", request("ZZZZZZZZZZ", "d", "7", secret, now), dynreg.ErrAuth, false},
		{"too old", request("AUTO000001", "d", "8", secret, now.Add(-5*time.Minute-time.Second)), dynreg.ErrTimestamp, false},
		{"too new", request("AUTO000001", "d", "9", secret, now.Add(5*time.Minute+time.Second)), dynreg.ErrTimestamp, false},
		{"nonce reused", request("AUTO000001", "d", "1", secret, now), dynreg.ErrNonceReused, false},
		{"disabled", request("OFF0000001", "d", "10", secret, now), dynreg.ErrDisabled, false},
		{"pre-created unknown", request("PRE0000001", "stranger", "11", secret, now), dynreg.ErrUnknownDevice, false},
		{"already active", request("AUTO000001", "active", "12", secret, now), dynreg.ErrAlreadyActive, false},
		{"registered again before connecting", request("PRE0000001", "known", "13", secret, now), nil, false},
		{"no credential", request("BROKEN0001", "d", "14", secret, now), errInternal, false},
	}
	svc := dynreg.New(newProducts(), dynreg.Config{IPRate: rate.Inf, Now: func() time.Time { return now }})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply, err := svc.Register(context.Background(), tt.req)
			switch {
			case tt.wantErr == errInternal:
				if err == nil || isRefusal(err) {
					t.Fatalf("err %v, want an internal error", err)
				}
				return
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatalf("err %v", err)
			}
			p, err := protocol.OpenRegisterPayload(secret, reply.Payload)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := protocol.DecryptRegisterPayload(secret, reply.Payload)
			if err != nil || reply.Len != len(plain) {
				t.Fatalf("Len %d, plaintext %d bytes (%v)", reply.Len, len(plain), err)
			}
			if tt.cert {
				if p.EncryptionType != protocol.RegisterEncryptionCert || p.ClientCert == "" || p.ClientKey == "" {
					t.Fatalf("payload %+v", p)
				}
			} else if p.EncryptionType != protocol.RegisterEncryptionKey || p.PSK != dynregtest.PSK {
				t.Fatalf("payload %+v", p)
			}
		})
	}
}

// errInternal marks the cases expecting an error that is no refusal.
var errInternal = errors.New("internal")

func isRefusal(err error) bool {
	for _, e := range []error{dynreg.ErrInvalidRequest, dynreg.ErrAuth, dynreg.ErrTimestamp, dynreg.ErrNonceReused,
		dynreg.ErrRateLimited, dynreg.ErrDisabled, dynreg.ErrLimitReached, dynreg.ErrUnknownDevice, dynreg.ErrAlreadyActive} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func TestServiceRegisterLimit(t *testing.T) {
	p := dynregtest.NewProducts()
	p.AddProduct("LIM0000001", dynreg.Settings{Type: dynreg.ModeAutoCreate, Limit: 1, ProductSecret: secret,
		EncryptionType: dynreg.EncryptionKey}, nil)
	svc := dynreg.New(p, dynreg.Config{IPRate: rate.Inf, Now: func() time.Time { return now }})
	ctx := context.Background()
	if _, err := svc.Register(ctx, request("LIM0000001", "a", "1", secret, now)); err != nil {
		t.Fatalf("first: %v", err)
	}
	if _, err := svc.Register(ctx, request("LIM0000001", "b", "2", secret, now)); !errors.Is(err, dynreg.ErrLimitReached) {
		t.Fatalf("second: %v", err)
	}
}

func TestServiceUnknownProduct(t *testing.T) {
	svc := dynreg.New(newProducts(), dynreg.Config{IPRate: rate.Inf, Now: func() time.Time { return now }})
	var got []string
	req := request("ZZZZZZZZZZ", "d", "1", secret, now)
	req.Verify = func(s string) error { got = append(got, s); return nil }
	// Even a Verify that accepts anything cannot get past an unknown product.
	_, err := svc.Register(context.Background(), req)
	if !errors.Is(err, dynreg.ErrAuth) || !errors.Is(err, dynreg.ErrProductNotFound) {
		t.Fatalf("err %v", err)
	}
	if len(got) != 1 || got[0] == "" || got[0] == secret {
		t.Fatalf("verify called with %q, want one decoy secret", got)
	}
}

func TestServiceStoreFailure(t *testing.T) {
	p := newProducts()
	errDown := errors.New("store down")
	p.Fail(errDown)
	svc := dynreg.New(p, dynreg.Config{IPRate: rate.Inf, Now: func() time.Time { return now }})
	_, err := svc.Register(context.Background(), request("AUTO000001", "d", "1", secret, now))
	if !errors.Is(err, errDown) || isRefusal(err) {
		t.Fatalf("err %v", err)
	}
}

func TestServiceRateLimits(t *testing.T) {
	tests := []struct {
		name string
		cfg  dynreg.Config
		reqs []dynreg.Request
		want []error
	}{
		{"per ip", dynreg.Config{IPRate: 0.001, IPBurst: 1}, []dynreg.Request{
			request("AUTO000001", "a", "1", secret, now), request("AUTO000001", "b", "2", secret, now),
		}, []error{nil, dynreg.ErrRateLimited}},
		{"per product", dynreg.Config{IPRate: rate.Inf, ProductRate: 0.001, ProductBurst: 1}, []dynreg.Request{
			request("AUTO000001", "a", "1", secret, now), request("AUTO000001", "b", "2", secret, now),
			request("CERT000001", "c", "3", secret, now),
		}, []error{nil, dynreg.ErrRateLimited, nil}},
		{"replay cache full", dynreg.Config{IPRate: rate.Inf, ReplayCacheSize: 1}, []dynreg.Request{
			request("AUTO000001", "a", "1", secret, now), request("AUTO000001", "b", "2", secret, now),
		}, []error{nil, dynreg.ErrRateLimited}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Now = func() time.Time { return now }
			svc := dynreg.New(newProducts(), tt.cfg)
			for i, req := range tt.reqs {
				_, err := svc.Register(context.Background(), req)
				if tt.want[i] == nil && err != nil || tt.want[i] != nil && !errors.Is(err, tt.want[i]) {
					t.Fatalf("request %d: err %v, want %v", i, err, tt.want[i])
				}
			}
		})
	}
}

func TestServiceMaxBody(t *testing.T) {
	tests := []struct {
		cfg  int64
		want int64
	}{{0, 4096}, {-1, 4096}, {100, 100}}
	for _, tt := range tests {
		if got := dynreg.New(newProducts(), dynreg.Config{MaxBody: tt.cfg}).MaxBody(); got != tt.want {
			t.Errorf("MaxBody %d: %d, want %d", tt.cfg, got, tt.want)
		}
	}
}
