package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestConcurrentDownloads serves one file to 100 clients at once over
// loopback, each resuming from a different offset.
func TestConcurrentDownloads(t *testing.T) {
	now := time.Now()
	srv, st := newTestServer(t, &now)
	content := make([]byte, 1<<20)
	for i := range content {
		content[i] = byte(i * 7)
	}
	if _, _, err := st.Put(context.Background(), "fw.bin", bytes.NewReader(content), 0); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	url := srv.URL(ts.URL, KindDownload, "fw.bin", time.Hour)
	want := md5.Sum(content)

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			off := i * 1000
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, len(content)))
			res, err := ts.Client().Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if err != nil {
				errs <- err
				return
			}
			if res.StatusCode != http.StatusPartialContent || md5.Sum(append(content[:off:off], b...)) != want {
				errs <- fmt.Errorf("client %d: %d, %d bytes", i, res.StatusCode, len(b))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkDownload measures single-stream download throughput.
func BenchmarkDownload(b *testing.B) {
	now := time.Now()
	st, err := OpenLocal(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sg, _ := NewSigner(bytes.Repeat([]byte{3}, 32))
	srv, _ := NewServer(ServerConfig{Store: st, Signer: sg, Now: func() time.Time { return now }})
	content := make([]byte, 8<<20)
	if _, _, err := st.Put(context.Background(), "fw.bin", bytes.NewReader(content), 0); err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	url := srv.URL(ts.URL, KindDownload, "fw.bin", time.Hour)
	b.SetBytes(int64(len(content)))
	for b.Loop() {
		res, err := ts.Client().Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
}
