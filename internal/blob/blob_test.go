package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func newTestServer(t *testing.T, now *time.Time) (*Server, *Local) {
	t.Helper()
	st, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	sg, err := NewSigner(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ServerConfig{Store: st, Signer: sg, MaxUpload: 1 << 20, Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	return srv, st
}

func TestServer(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	srv, st := newTestServer(t, &now)
	content := bytes.Repeat([]byte("0123456789"), 15000) // 150000 bytes
	ctx := context.Background()

	up := srv.URL("", KindUpload, "firmware/P/1.0", time.Hour)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, up, bytes.NewReader(content)))
	if rec.Code != http.StatusOK {
		t.Fatalf("PUT = %d %s", rec.Code, rec.Body)
	}
	size, sum, err := st.Sum(ctx, "firmware/P/1.0")
	want := md5.Sum(content)
	if err != nil || size != int64(len(content)) || sum != hex.EncodeToString(want[:]) {
		t.Fatalf("Sum = %d %s %v", size, sum, err)
	}

	dl := srv.URL("", KindDownload, "firmware/P/1.0", time.Hour)
	missing := srv.URL("", KindDownload, "firmware/P/none", time.Hour)
	expired := srv.URL("", KindDownload, "firmware/P/1.0", -time.Second)
	forged := dl[:len(dl)-2] + "AA"
	tests := []struct {
		name, method, url, rng string
		code                   int
		contentRange           string
		body                   []byte
	}{
		{"full", http.MethodGet, dl, "", 200, "", content},
		{"sdk range end is size", http.MethodGet, dl, "bytes=0-150000", 206, "bytes 0-149999/150000", content},
		{"resume", http.MethodGet, dl, "bytes=100000-150000", 206, "bytes 100000-149999/150000", content[100000:]},
		{"open range", http.MethodGet, dl, "bytes=149990-", 206, "bytes 149990-149999/150000", content[149990:]},
		{"head", http.MethodHead, dl, "", 200, "", nil},
		{"missing", http.MethodGet, missing, "", 404, "", nil},
		{"expired", http.MethodGet, expired, "", 403, "", nil},
		{"forged", http.MethodGet, forged, "", 403, "", nil},
		{"upload link cannot download", http.MethodGet, up, "", 405, "", nil},
		{"download link cannot upload", http.MethodPut, dl, "", 405, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.url, strings.NewReader(""))
			if tc.rng != "" {
				req.Header.Set("Range", tc.rng)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Fatalf("code = %d, want %d", rec.Code, tc.code)
			}
			if got := rec.Header().Get("Content-Range"); got != tc.contentRange {
				t.Errorf("Content-Range = %q, want %q", got, tc.contentRange)
			}
			if tc.body != nil {
				if !bytes.Equal(rec.Body.Bytes(), tc.body) {
					t.Errorf("body: %d bytes, want %d", rec.Body.Len(), len(tc.body))
				}
				if cl := rec.Header().Get("Content-Length"); cl == "" {
					t.Error("no Content-Length")
				}
			}
		})
	}
}

func TestUploadLimit(t *testing.T) {
	now := time.Now()
	srv, _ := newTestServer(t, &now)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, srv.URL("", KindUpload, "big", time.Hour), io.LimitReader(zeros{}, 2<<20)))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("code = %d", rec.Code)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestKeys(t *testing.T) {
	st, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, key := range []string{"", "../x", "/abs", "a/../../b", "a//b", "a\\b", ".."} {
		if _, _, err := st.Put(context.Background(), key, strings.NewReader("x"), 0); err == nil {
			t.Errorf("Put(%q) accepted", key)
		}
	}
}

func FuzzVerify(f *testing.F) {
	sg, _ := NewSigner(bytes.Repeat([]byte{1}, 32))
	f.Add(sg.Token(KindDownload, "firmware/a/b", time.Unix(2e9, 0)))
	f.Add("x.y")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		kind, key, err := sg.Verify(token, time.Unix(1e9, 0))
		if err == nil && sg.Token(kind, key, time.Unix(int64(2e9), 0)) == "" {
			t.Fatal("empty token")
		}
	})
}
