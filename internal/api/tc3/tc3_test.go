package tc3

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	vecID   = "AKIDEXAMPLEresearch"
	vecKey  = "secretKeyForResearchOnly"
	vecBody = `{"ProductId":"ABCDEF1234","DeviceName":"dev1"}`
)

// Vectors from /work/shared/testdata/tc3-signature-vectors.txt.
var vectors = []struct {
	name      string
	ts        int64
	host      string // as signed
	service   string
	canonHash string // sha256 of the canonical request (from StringToSign)
	signature string
}{
	{"go-1.0.162", 1795626724, "127.0.0.1:18080", "iotexplorer",
		"462b95e34544581c54a4a5a0aaf8a36d8fac773a136db574b067d1aeef5cab9c",
		"ddbc08127f9387e4e853ba0dbb53aedca5f50ef3e44184bc6fca226ac8e0026a"},
	{"node-4.1.313", 1795626725, "127.0.0.1", "127",
		"5f1d6f0cbe5d266ca126ff98bba6468a16bd3cf4de807852ea7b165d33449f27",
		"3a9f750d802b03500c28b0bd25a6e3cc1ac45a13b7463e5e50f40f6f49b4da8a"},
}

func TestSignVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			r := Request{Method: "POST", Host: v.host, ContentType: "application/json",
				Payload: []byte(vecBody), Timestamp: v.ts, Service: v.service}
			if got := sha256Hex([]byte(CanonicalRequest(r))); got != v.canonHash {
				t.Errorf("canonical request hash = %s, want %s\n%s", got, v.canonHash, CanonicalRequest(r))
			}
			if got := Signature(vecKey, r); got != v.signature {
				t.Errorf("Signature = %s, want %s", got, v.signature)
			}
			auth := Sign(vecID, vecKey, r)
			want := "TC3-HMAC-SHA256 Credential=AKIDEXAMPLEresearch/2026-11-25/" + v.service +
				"/tc3_request, SignedHeaders=content-type;host, Signature=" + v.signature
			if auth != want {
				t.Errorf("Sign = %s\nwant %s", auth, want)
			}
		})
	}
}

func keys(id string) (string, bool) {
	if id == vecID {
		return vecKey, true
	}
	return "", false
}

// wireRequest builds the request as it arrives at the server: the Host header
// always carries the port.
func wireRequest(ts int64, service, sig string) *http.Request {
	r := httptest.NewRequest("POST", "http://127.0.0.1:18080/", strings.NewReader(vecBody))
	r.Host = "127.0.0.1:18080"
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	r.Header.Set("Authorization", "TC3-HMAC-SHA256 Credential="+vecID+"/"+date(ts)+"/"+service+
		"/tc3_request, SignedHeaders=content-type;host, Signature="+sig)
	return r
}

func TestVerifyVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			r := wireRequest(v.ts, v.service, v.signature)
			id, err := Verify(r, []byte(vecBody), keys, time.Unix(v.ts+30, 0))
			if err != nil || id != vecID {
				t.Fatalf("Verify = %q, %v", id, err)
			}
		})
	}
}

func TestVerifyErrors(t *testing.T) {
	v := vectors[0]
	now := time.Unix(v.ts, 0)
	tests := []struct {
		name   string
		mutate func(r *http.Request) ([]byte, time.Time)
		want   error
	}{
		{"missing authorization", func(r *http.Request) ([]byte, time.Time) {
			r.Header.Del("Authorization")
			return []byte(vecBody), now
		}, ErrInvalidAuthorization},
		{"garbage authorization", func(r *http.Request) ([]byte, time.Time) {
			r.Header.Set("Authorization", "TC3-HMAC-SHA256 nonsense")
			return []byte(vecBody), now
		}, ErrInvalidAuthorization},
		{"bad timestamp", func(r *http.Request) ([]byte, time.Time) {
			r.Header.Set("X-TC-Timestamp", "soon")
			return []byte(vecBody), now
		}, ErrInvalidAuthorization},
		{"unknown secret id", func(r *http.Request) ([]byte, time.Time) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), vecID, "AKIDother", 1))
			return []byte(vecBody), now
		}, ErrSecretIDNotFound},
		{"too old", func(r *http.Request) ([]byte, time.Time) {
			return []byte(vecBody), now.Add(301 * time.Second)
		}, ErrSignatureExpire},
		{"from the future", func(r *http.Request) ([]byte, time.Time) {
			return []byte(vecBody), now.Add(-301 * time.Second)
		}, ErrSignatureExpire},
		{"body changed", func(r *http.Request) ([]byte, time.Time) {
			return bytes.Replace([]byte(vecBody), []byte("dev1"), []byte("dev2"), 1), now
		}, ErrSignatureFailure},
		{"other host", func(r *http.Request) ([]byte, time.Time) {
			r.Host = "127.0.0.2:18080"
			return []byte(vecBody), now
		}, ErrSignatureFailure},
		{"foreign service", func(r *http.Request) ([]byte, time.Time) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/iotexplorer/", "/cvm/", 1))
			return []byte(vecBody), now
		}, ErrSignatureFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := wireRequest(v.ts, v.service, v.signature)
			body, at := tt.mutate(r)
			if _, err := Verify(r, body, keys, at); !errors.Is(err, tt.want) {
				t.Errorf("Verify err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyGET(t *testing.T) {
	ts := int64(1795626724)
	query := "DeviceName=dev1&ProductId=ABCDEF1234"
	r := httptest.NewRequest("GET", "http://127.0.0.1:18080/?"+query, nil)
	r.Host = "127.0.0.1:18080"
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	r.Header.Set("Authorization", Sign(vecID, vecKey, Request{Method: "GET", Host: r.Host, RawQuery: query,
		ContentType: "application/x-www-form-urlencoded", Timestamp: ts, Service: "iotexplorer"}))
	if _, err := Verify(r, nil, keys, time.Unix(ts, 0)); err != nil {
		t.Fatal(err)
	}
}

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"TC3-HMAC-SHA256 Credential=A/2026-11-25/iotexplorer/tc3_request, SignedHeaders=content-type;host, Signature=" + strings.Repeat("a", 64), true},
		{"TC3-HMAC-SHA256 Credential=A/2026-11-25/iotexplorer/tc3_request, SignedHeaders=host, Signature=" + strings.Repeat("a", 64), false},
		{"TC3-HMAC-SHA256 Credential=A/2026-13-25/iotexplorer/tc3_request, SignedHeaders=content-type;host, Signature=" + strings.Repeat("a", 64), false},
		{"TC3-HMAC-SHA256 Credential=A/2026-11-25/iotexplorer/tc3_request, SignedHeaders=content-type;host, Signature=zz", false},
		{"HMAC-SHA1 Credential=A", false},
		{"", false},
	}
	for _, tt := range tests {
		_, err := ParseAuthorization(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseAuthorization(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add("TC3-HMAC-SHA256 Credential=AKIDEXAMPLEresearch/2026-11-25/iotexplorer/tc3_request, SignedHeaders=content-type;host, Signature=ddbc08127f9387e4e853ba0dbb53aedca5f50ef3e44184bc6fca226ac8e0026a")
	f.Add("TC3-HMAC-SHA256 Credential=a/b/c/d/e, Signature=, Signature=")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAuthorization(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidAuthorization) {
				t.Fatalf("error not wrapping ErrInvalidAuthorization: %v", err)
			}
			return
		}
		if a.SecretID == "" || len(a.Signature) != 64 {
			t.Fatalf("accepted incomplete authorization %+v", a)
		}
	})
}
