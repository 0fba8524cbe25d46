package blob

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Uploaded is told about every completed upload.
type Uploaded func(ctx context.Context, key string, size int64, md5sum string)

// ServerConfig configures a Server.
type ServerConfig struct {
	Store     Backend // required
	Signer    *Signer // required
	MaxUpload int64   // bytes accepted by one PUT; 0: 256 MiB
	// OnUpload, if set, is called after each successful PUT.
	OnUpload Uploaded
	Logger   *slog.Logger
	Now      func() time.Time
}

// DefaultMaxUpload is the default PUT size limit.
const DefaultMaxUpload = 256 << 20

// Server serves signed links at root-level paths ("/<token>"): GET and HEAD
// of download links with Range support (206 + Content-Range; an end past
// the last byte is clamped), always with Content-Length; PUT of upload
// links (a Content-MD5 header is checked: a mismatch is 400 and nothing
// is kept). Expired or forged links get 403, missing objects 404. Files are
// streamed, never loaded into memory.
type Server struct {
	cfg ServerConfig
	log *slog.Logger
	now func() time.Time
}

// NewServer returns a Server.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Store == nil || cfg.Signer == nil {
		return nil, errors.New("blob: Store and Signer are required")
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = DefaultMaxUpload
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// URL returns the absolute link for kind on key, valid for ttl, under
// publicURL (scheme://host[:port], no trailing slash).
func (s *Server) URL(publicURL string, kind Kind, key string, ttl time.Duration) string {
	return strings.TrimSuffix(publicURL, "/") + "/" + s.cfg.Signer.Token(kind, key, s.now().Add(ttl))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimPrefix(r.URL.Path, "/")
	kind, key, err := s.cfg.Signer.Verify(token, s.now())
	if err != nil {
		s.log.Debug("blob link refused", "err", err, "remote", r.RemoteAddr)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	switch {
	case kind == KindDownload && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.download(w, r, key)
	case kind == KindUpload && r.Method == http.MethodPut:
		s.upload(w, r, key)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (s *Server) download(w http.ResponseWriter, r *http.Request, key string) {
	obj, info, err := s.cfg.Store.Open(r.Context(), key)
	if errors.Is(err, ErrNotFound) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if err != nil {
		s.log.Error("blob open", "key", key, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	defer obj.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Accept-Ranges", "bytes")
	// The SDKs send Accept-Encoding: gzip; the body is served as stored.
	http.ServeContent(w, r, "", info.ModTime, obj)
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request, key string) {
	if r.ContentLength > s.cfg.MaxUpload {
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
		return
	}
	var wantMD5 string
	if h := r.Header.Get("Content-MD5"); h != "" {
		b, err := base64.StdEncoding.DecodeString(h)
		if err != nil || len(b) != md5.Size {
			http.Error(w, "invalid Content-MD5", http.StatusBadRequest)
			return
		}
		wantMD5 = hex.EncodeToString(b)
	}
	size, sum, err := s.cfg.Store.Put(r.Context(), key, r.Body, s.cfg.MaxUpload)
	switch {
	case errors.Is(err, ErrTooLarge):
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		s.log.Warn("blob upload", "key", key, "err", err)
		http.Error(w, "upload failed", http.StatusInternalServerError)
		return
	case r.ContentLength >= 0 && size != r.ContentLength:
		http.Error(w, "short body", http.StatusBadRequest)
		return
	case wantMD5 != "" && sum != wantMD5:
		// The stored object is not what the client meant: remove it.
		if err := s.cfg.Store.Delete(r.Context(), key); err != nil {
			s.log.Warn("blob delete after bad digest", "key", key, "err", err)
		}
		http.Error(w, "Content-MD5 does not match the body", http.StatusBadRequest)
		return
	}
	if s.cfg.OnUpload != nil {
		s.cfg.OnUpload(r.Context(), key, size, sum)
	}
	w.Header().Set("ETag", strconv.Quote(sum))
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "")
}
