package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// newFakeS3 starts an in-process S3-compatible server on loopback with
// one bucket and returns a backend on it.
func newFakeS3(t *testing.T) *S3 {
	t.Helper()
	mem := s3mem.New()
	if err := mem.CreateBucket("thingo"); err != nil {
		t.Fatal(err)
	}
	fake := gofakes3.New(mem, gofakes3.WithLogger(gofakes3.DiscardLog()))
	hs := httptest.NewServer(fake.Server())
	t.Cleanup(hs.Close)
	cfg, err := ParseS3URL("s3://thingo/prefix/dir?endpoint=" + strings.TrimPrefix(hs.URL, "http://") + "&secure=false&path_style=true&region=us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	cfg.AccessKey, cfg.SecretKey = "access", "secretsecret"
	s, err := OpenS3(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// backends returns every Backend implementation, freshly created.
func backends(t *testing.T) map[string]Backend {
	t.Helper()
	l, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return map[string]Backend{"local": l, "s3": newFakeS3(t)}
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// TestBackendConformance runs the same checks on every backend.
func TestBackendConformance(t *testing.T) {
	ctx := context.Background()
	content := bytes.Repeat([]byte("abcdefghij"), 20000)
	for name, b := range backends(t) {
		t.Run(name, func(t *testing.T) {
			size, sum, err := b.Put(ctx, "firmware/P1/1.0.0", bytes.NewReader(content), 0)
			if err != nil || size != int64(len(content)) || sum != md5hex(content) {
				t.Fatalf("Put = %d %s %v", size, sum, err)
			}
			// Replace.
			if _, _, err := b.Put(ctx, "firmware/P1/1.0.0", bytes.NewReader(content[:1000]), 0); err != nil {
				t.Fatal(err)
			}
			o, info, err := b.Open(ctx, "firmware/P1/1.0.0")
			if err != nil || info.Size != 1000 {
				t.Fatalf("Open = %+v %v", info, err)
			}
			if _, err := o.Seek(900, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			tail, err := io.ReadAll(o)
			_ = o.Close()
			if err != nil || !bytes.Equal(tail, content[900:1000]) {
				t.Fatalf("tail = %d bytes, %v", len(tail), err)
			}
			if n, s, err := b.Sum(ctx, "firmware/P1/1.0.0"); err != nil || n != 1000 || s != md5hex(content[:1000]) {
				t.Fatalf("Sum = %d %s %v", n, s, err)
			}
			if err := b.Rename(ctx, "firmware/P1/1.0.0", "firmware/P1/final"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := b.Open(ctx, "firmware/P1/1.0.0"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("old key after rename: %v", err)
			}
			if n, _, err := b.Sum(ctx, "firmware/P1/final"); err != nil || n != 1000 {
				t.Fatalf("Sum after rename = %d %v", n, err)
			}
			if err := b.Rename(ctx, "nothing/here", "x"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Rename missing = %v", err)
			}
			if err := b.Delete(ctx, "firmware/P1/final"); err != nil {
				t.Fatal(err)
			}
			if err := b.Delete(ctx, "firmware/P1/final"); err != nil {
				t.Fatalf("second Delete = %v", err)
			}
			if _, _, err := b.Sum(ctx, "firmware/P1/final"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Sum deleted = %v", err)
			}
			if _, _, err := b.Put(ctx, "big", bytes.NewReader(content), 100); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Put over limit = %v", err)
			}
			if _, _, err := b.Open(ctx, "big"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("object left after too-large Put: %v", err)
			}
			for _, key := range []string{"", "../x", "/abs", "a//b"} {
				if _, _, err := b.Put(ctx, key, strings.NewReader("x"), 0); !errors.Is(err, ErrInvalidKey) {
					t.Errorf("Put(%q) = %v", key, err)
				}
			}
		})
	}
}

// TestServerConformance serves the same links from every backend.
func TestServerConformance(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789"), 15000)
	sg, err := NewSigner(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range backends(t) {
		t.Run(name, func(t *testing.T) {
			srv, err := NewServer(ServerConfig{Store: b, Signer: sg, MaxUpload: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(srv)
			defer hs.Close()
			req, _ := http.NewRequest(http.MethodPut, srv.URL(hs.URL, KindUpload, "f/x", time.Hour), bytes.NewReader(content))
			resp, err := hs.Client().Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("PUT = %v %v", resp, err)
			}
			resp.Body.Close()
			tests := []struct {
				rng, contentRange string
				code              int
				body              []byte
			}{
				{"", "", 200, content},
				{"bytes=100000-150000", "bytes 100000-149999/150000", 206, content[100000:]},
				{"bytes=10-19", "bytes 10-19/150000", 206, content[10:20]},
			}
			for _, tc := range tests {
				req, _ := http.NewRequest(http.MethodGet, srv.URL(hs.URL, KindDownload, "f/x", time.Hour), nil)
				if tc.rng != "" {
					req.Header.Set("Range", tc.rng)
				}
				resp, err := hs.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.code || resp.Header.Get("Content-Range") != tc.contentRange || !bytes.Equal(body, tc.body) || resp.ContentLength != int64(len(tc.body)) {
					t.Errorf("Range %q: %d %q %d bytes (length %d)", tc.rng, resp.StatusCode, resp.Header.Get("Content-Range"), len(body), resp.ContentLength)
				}
			}
			sum := md5.Sum(content[:10])
			for _, tc := range []struct {
				name, header string
				code         int
			}{
				{"bad digest", base64.StdEncoding.EncodeToString(make([]byte, 16)), http.StatusBadRequest},
				{"not base64", "??", http.StatusBadRequest},
				{"good digest", base64.StdEncoding.EncodeToString(sum[:]), http.StatusOK},
			} {
				req, _ := http.NewRequest(http.MethodPut, srv.URL(hs.URL, KindUpload, "f/md5", time.Hour), bytes.NewReader(content[:10]))
				req.Header.Set("Content-MD5", tc.header)
				resp, err := hs.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				_, _, serr := b.Sum(context.Background(), "f/md5")
				if resp.StatusCode != tc.code || (tc.code == http.StatusOK) != (serr == nil) {
					t.Errorf("%s: PUT = %d, stored: %v", tc.name, resp.StatusCode, serr)
				}
			}
			resp, err = hs.Client().Get(srv.URL(hs.URL, KindDownload, "f/missing", time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("missing = %d", resp.StatusCode)
			}
		})
	}
}

func TestParseS3URL(t *testing.T) {
	tests := []struct {
		url  string
		want S3Config
		ok   bool
	}{
		{"s3://b", S3Config{Bucket: "b", Endpoint: "s3.amazonaws.com", Secure: true}, true},
		{"s3://b/p/q?endpoint=minio:9000&region=eu&secure=false&path_style=true", S3Config{Bucket: "b", Prefix: "p/q", Endpoint: "minio:9000", Region: "eu", PathStyle: true}, true},
		{"http://b", S3Config{}, false},
		{"s3:///p", S3Config{}, false},
		{"s3://b?secure=maybe", S3Config{}, false},
		{"s3://b?bogus=1", S3Config{}, false},
		{"s3://b?endpoint=http://x", S3Config{}, false},
		{"s3://user:pw@b", S3Config{}, false},
	}
	for _, tc := range tests {
		got, err := ParseS3URL(tc.url)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseS3URL(%q) = %+v, %v", tc.url, got, err)
		}
	}
}
