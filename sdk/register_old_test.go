package sdk_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/protocol"
	"github.com/thingo-iot/thingo/sdk"
)

// oldVectorSecret and oldVectorPayload are the old-API vector of
// PROTOCOL.md §13.3: the payload decrypts to the psk below.
const (
	oldVectorSecret  = "PRODUCTSECRET0123456789a"
	oldVectorPayload = "NM28YZRAWr/mvD8Ma+OdDRgM97MDFhsi8itCqIwwPma4RniR61LF/Wne4y5Q6GnYZQw+kDYlpI/OuX/zt63l3g=="
	oldVectorPSK     = "MDEyMzQ1Njc4OWFiY2RlZg=="
)

// TestRegisterOldWire checks the request RegisterOld sends (path, headers,
// signed JSON body) against a server that verifies it like Thingo's, and
// the handling of its replies.
func TestRegisterOldWire(t *testing.T) {
	tests := []struct {
		name     string
		reply    string
		wantPSK  string
		wantCode string // a *RegisterError's code
		wantErr  error  // else an error wrapping this
	}{
		{"success", `{"code":0,"message":"success","len":53,"payload":"` + oldVectorPayload + `","requestId":"r1"}`, oldVectorPSK, "", nil},
		{"refused", `{"code":1021,"message":"device has already been activated","requestId":"r2"}`, "", "1021", nil},
		{"no payload", `{"code":0,"message":"success","requestId":"r3"}`, "", "", protocol.ErrMalformedPayload},
		{"bad payload", `{"code":0,"message":"success","payload":"AAAA","requestId":"r4"}`, "", "", protocol.ErrMalformedPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newLocalServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				req, err := protocol.ParseOldRegisterRequest(body)
				switch {
				case r.Method != http.MethodPost || r.URL.Path != protocol.PathRegisterOld:
					http.Error(w, "wrong endpoint "+r.Method+" "+r.URL.Path, http.StatusNotFound)
					return
				case r.Header.Get("Content-Type") != "application/x-www-form-urlencoded":
					http.Error(w, "content type "+r.Header.Get("Content-Type"), http.StatusBadRequest)
					return
				case err != nil:
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				case req.ProductID != "AB12CD34EF" || req.DeviceName != "dev002" || req.Nonce <= 0:
					http.Error(w, "wrong fields "+string(body), http.StatusBadRequest)
					return
				case time.Since(time.Unix(req.Timestamp, 0)).Abs() > time.Minute:
					http.Error(w, "timestamp", http.StatusBadRequest)
					return
				}
				if err := protocol.VerifyOldRegister(oldVectorSecret, req); err != nil {
					http.Error(w, err.Error(), http.StatusForbidden)
					return
				}
				_, _ = io.WriteString(w, tt.reply)
			}))
			reg, err := sdk.RegisterOld(context.Background(), sdk.RegisterConfig{
				BaseURL: srv + "/", ProductID: "AB12CD34EF", ProductSecret: oldVectorSecret, DeviceName: "dev002",
			})
			var re *sdk.RegisterError
			switch {
			case tt.wantPSK != "":
				if err != nil || reg.DeviceSecret != tt.wantPSK || reg.ProductSecret != oldVectorSecret {
					t.Fatalf("RegisterOld = %+v, %v", reg, err)
				}
			case tt.wantCode != "":
				if !errors.As(err, &re) || re.Code != tt.wantCode || !errors.Is(err, sdk.ErrRegisterRefused) {
					t.Fatalf("RegisterOld error = %v, want code %s", err, tt.wantCode)
				}
			default:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("RegisterOld error = %v, want %v", err, tt.wantErr)
				}
			}
		})
	}
}

func TestRegisterOldConfigErrors(t *testing.T) {
	secret := strings.Repeat("s", 24)
	tests := []struct {
		name string
		cfg  sdk.RegisterConfig
	}{
		{"bad product", sdk.RegisterConfig{BaseURL: "http://127.0.0.1:1", ProductID: "x", ProductSecret: secret, DeviceName: "d"}},
		{"bad device", sdk.RegisterConfig{BaseURL: "http://127.0.0.1:1", ProductID: "AB12CD34EF", ProductSecret: secret, DeviceName: "bad name"}},
		{"bad URL", sdk.RegisterConfig{BaseURL: "ftp://host", ProductID: "AB12CD34EF", ProductSecret: secret, DeviceName: "d"}},
		{"sha256", sdk.RegisterConfig{BaseURL: "http://127.0.0.1:1", ProductID: "AB12CD34EF", ProductSecret: secret, DeviceName: "d", SignMethod: "hmacsha256"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sdk.RegisterOld(context.Background(), tt.cfg); !errors.Is(err, sdk.ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// TestRegisterOldE2E registers key and certificate devices through the old
// API of a real node, saves device_info.json and connects with it.
func TestRegisterOldE2E(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keyPID, certPID := n.newProduct("2"), n.newProduct("1")
	keySecret, certSecret := n.setDynreg(keyPID), n.setDynreg(certPID)

	tests := []struct {
		name, pid, secret, broker, signMethod string
	}{
		{"key", keyPID, keySecret, n.url("tcp"), ""},
		{"cert", certPID, certSecret, n.url("tls"), "HmacSha1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := sdk.RegisterOld(ctx, sdk.RegisterConfig{
				BaseURL: n.httpBase(), ProductID: tt.pid, ProductSecret: tt.secret, DeviceName: "old1", SignMethod: tt.signMethod,
			})
			if err != nil {
				t.Fatalf("RegisterOld: %v", err)
			}
			path := filepath.Join(t.TempDir(), "device_info.json")
			if _, err := reg.Save(path); err != nil {
				t.Fatal(err)
			}
			info, err := sdk.LoadDeviceInfo(path)
			if err != nil {
				t.Fatal(err)
			}
			cfg := info.Config(tt.broker)
			cfg.RootCAs = n.roots()
			cfg.ServerName = "localhost"
			c, err := sdk.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Connect(ctx); err != nil {
				t.Fatalf("connect with the registered credential: %v", err)
			}
			roundTrip(t, c, tt.pid, "old1")

			// Once the platform recorded the device's first connection
			// (asynchronously), a second registration is refused with the
			// old API's numeric code.
			waitFor(t, 10*time.Second, func() error {
				var d struct {
					Device struct{ FirstOnlineTime int64 }
				}
				n.call("DescribeDevice", map[string]any{"ProductId": tt.pid, "DeviceName": "old1"}, &d)
				if d.Device.FirstOnlineTime == 0 {
					return errors.New("first connection not recorded yet")
				}
				return nil
			})
			_, err = sdk.RegisterOld(ctx, sdk.RegisterConfig{
				BaseURL: n.httpBase(), ProductID: tt.pid, ProductSecret: tt.secret, DeviceName: "old1",
			})
			var re *sdk.RegisterError
			if !errors.As(err, &re) || re.Code != "1021" {
				t.Fatalf("second RegisterOld: %v, want code 1021", err)
			}
		})
	}

	// A wrong product secret: 1002.
	_, err := sdk.RegisterOld(ctx, sdk.RegisterConfig{
		BaseURL: n.httpBase(), ProductID: keyPID, ProductSecret: strings.Repeat("x", 24), DeviceName: "old2",
	})
	var re *sdk.RegisterError
	if !errors.As(err, &re) || re.Code != "1002" {
		t.Fatalf("RegisterOld with a wrong secret: %v, want code 1002", err)
	}
}
