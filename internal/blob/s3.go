package blob

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config locates an S3-compatible bucket.
type S3Config struct {
	Endpoint  string // host[:port], no scheme
	Secure    bool   // HTTPS to the endpoint
	Region    string // optional
	Bucket    string // required
	Prefix    string // optional key prefix, without leading or trailing slash
	PathStyle bool   // path-style bucket addressing (MinIO, most self-hosted stores)
	AccessKey string
	SecretKey string
}

// ParseS3URL parses s3://bucket[/prefix]?endpoint=host:port[&region=r]
// [&secure=false][&path_style=true]. The endpoint defaults to
// s3.amazonaws.com; secure defaults to true, path_style to false.
// Credentials are not part of the URL.
func ParseS3URL(raw string) (S3Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return S3Config{}, fmt.Errorf("blob url: %w", err)
	}
	if u.Scheme != "s3" || u.Host == "" || u.User != nil || u.Fragment != "" {
		return S3Config{}, errors.New("blob url: want s3://bucket[/prefix]?endpoint=host:port")
	}
	c := S3Config{Bucket: u.Host, Endpoint: "s3.amazonaws.com", Secure: true, Prefix: strings.Trim(u.Path, "/")}
	q := u.Query()
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "endpoint":
			if v == "" || strings.Contains(v, "/") {
				return S3Config{}, fmt.Errorf("blob url: endpoint %q must be host[:port]", v)
			}
			c.Endpoint = v
		case "region":
			c.Region = v
		case "secure", "path_style":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return S3Config{}, fmt.Errorf("blob url: %s=%q is not a boolean", k, v)
			}
			if k == "secure" {
				c.Secure = b
			} else {
				c.PathStyle = b
			}
		default:
			return S3Config{}, fmt.Errorf("blob url: unknown parameter %q", k)
		}
	}
	if c.Prefix != "" && checkKey(c.Prefix) != nil {
		return S3Config{}, fmt.Errorf("blob url: invalid prefix %q", c.Prefix)
	}
	return c, nil
}

// s3PartSize bounds the memory of one streamed upload of unknown size.
const s3PartSize = 16 << 20

// S3 stores objects in an S3-compatible bucket. Objects are streamed
// through Thingo's own signed links (the Server), so devices see the same
// URLs, Range behaviour and expiry as with the local backend.
type S3 struct {
	c      *minio.Client
	bucket string
	prefix string
}

// OpenS3 connects to the bucket and checks that it exists.
func OpenS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" || cfg.Endpoint == "" {
		return nil, errors.New("blob s3: bucket and endpoint are required")
	}
	opts := &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.Secure,
		Region: cfg.Region,
	}
	if cfg.PathStyle {
		opts.BucketLookup = minio.BucketLookupPath
	}
	c, err := minio.New(cfg.Endpoint, opts)
	if err != nil {
		return nil, fmt.Errorf("blob s3: %w", err)
	}
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob s3 bucket %s: %w", cfg.Bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("blob s3: bucket %s does not exist", cfg.Bucket)
	}
	return &S3{c: c, bucket: cfg.Bucket, prefix: cfg.Prefix}, nil
}

// Close releases nothing; it exists for Backend.
func (s *S3) Close() error { return nil }

func (s *S3) name(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	if s.prefix == "" {
		return key, nil
	}
	return path.Join(s.prefix, key), nil
}

// notFound reports whether err is S3's answer for a missing object.
func notFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == "NoSuchKey" || r.StatusCode == http.StatusNotFound
}

// limitReader fails with ErrTooLarge once more than n bytes were read.
type limitReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		l.over = true
		return 0, ErrTooLarge
	}
	return n, err
}

// Put implements Backend. The upload is streamed in parts of 16 MiB; S3
// makes the object visible atomically when it completes.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, limit int64) (int64, string, error) {
	name, err := s.name(key)
	if err != nil {
		return 0, "", err
	}
	h := md5.New()
	var src io.Reader = ctxReader{ctx, r}
	var lr *limitReader
	if limit > 0 {
		lr = &limitReader{r: src, n: limit}
		src = lr
	}
	info, err := s.c.PutObject(ctx, s.bucket, name, io.TeeReader(src, h), -1, minio.PutObjectOptions{
		PartSize: s3PartSize, ContentType: "application/octet-stream",
		// Plain payload: the MD5 is computed here and the body is not
		// re-read, so no per-chunk signature is needed.
		DisableContentSha256: true,
	})
	if lr != nil && lr.over {
		return 0, "", fmt.Errorf("blob put %s: %w", key, ErrTooLarge)
	}
	if err != nil {
		return 0, "", fmt.Errorf("blob put %s: %w", key, err)
	}
	return info.Size, hex.EncodeToString(h.Sum(nil)), nil
}

// Open implements Backend. The object reads lazily; seeking issues ranged
// GETs, so Range requests do not transfer the whole object.
func (s *S3) Open(ctx context.Context, key string) (Object, Info, error) {
	name, err := s.name(key)
	if err != nil {
		return nil, Info{}, err
	}
	o, err := s.c.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, fmt.Errorf("blob %s: %w", key, err)
	}
	st, err := o.Stat()
	if err != nil {
		_ = o.Close()
		if notFound(err) {
			return nil, Info{}, fmt.Errorf("blob %s: %w", key, ErrNotFound)
		}
		return nil, Info{}, fmt.Errorf("blob %s: %w", key, err)
	}
	return o, Info{Size: st.Size, ModTime: st.LastModified}, nil
}

// Sum implements Backend by reading the object (multipart ETags are not
// MD5s).
func (s *S3) Sum(ctx context.Context, key string) (int64, string, error) {
	o, _, err := s.Open(ctx, key)
	if err != nil {
		return 0, "", err
	}
	defer o.Close()
	h := md5.New()
	n, err := io.Copy(h, ctxReader{ctx, o})
	if err != nil {
		return 0, "", fmt.Errorf("blob %s: %w", key, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// Rename implements Backend with a server-side copy and a delete (objects
// up to 5 GiB).
func (s *S3) Rename(ctx context.Context, from, to string) error {
	src, err := s.name(from)
	if err != nil {
		return err
	}
	dst, err := s.name(to)
	if err != nil {
		return err
	}
	_, err = s.c.CopyObject(ctx, minio.CopyDestOptions{Bucket: s.bucket, Object: dst}, minio.CopySrcOptions{Bucket: s.bucket, Object: src})
	if err != nil {
		if notFound(err) {
			return fmt.Errorf("blob %s: %w", from, ErrNotFound)
		}
		return fmt.Errorf("blob rename %s: %w", from, err)
	}
	if err := s.c.RemoveObject(ctx, s.bucket, src, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("blob rename %s: %w", from, err)
	}
	return nil
}

// Delete implements Backend.
func (s *S3) Delete(ctx context.Context, key string) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	if err := s.c.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil && !notFound(err) {
		return fmt.Errorf("blob delete %s: %w", key, err)
	}
	return nil
}
