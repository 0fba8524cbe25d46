// Package blob stores files (firmware images) and serves them to devices
// through signed, expiring, root-level URLs (PROTOCOL.md §7, §13.6).
//
// The local backend keeps objects in one directory confined with os.Root,
// so no key can reach outside it.
package blob

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// ErrNotFound is returned for a key that has no object.
var ErrNotFound = errors.New("blob: not found")

// ErrInvalidKey is returned for a key that is not a clean relative path.
var ErrInvalidKey = errors.New("blob: invalid key")

// Object is an opened stored object; the caller closes it.
type Object interface {
	io.ReadSeekCloser
}

// Info describes a stored object.
type Info struct {
	Size    int64
	ModTime time.Time
}

// Local is a directory-backed object store, safe for concurrent use.
type Local struct {
	root *os.Root
}

// OpenLocal opens (creating it if needed) the directory dir as a store.
func OpenLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob directory: %w", err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("blob directory: %w", err)
	}
	return &Local{root: r}, nil
}

// Close releases the directory.
func (l *Local) Close() error { return l.root.Close() }

// checkKey accepts slash-separated relative keys without empty, "." or ".."
// elements.
func checkKey(key string) error {
	if key == "" || len(key) > 512 || path.Clean(key) != key || strings.HasPrefix(key, "/") || strings.HasPrefix(key, "../") || key == ".." {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	for _, c := range key {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return fmt.Errorf("%w: %q", ErrInvalidKey, key)
		}
	}
	return nil
}

// Put stores r under key, replacing any object, and returns its size and
// MD5 (hex). The object appears atomically: readers see the old or the new
// content. At most limit bytes are accepted (limit <= 0: no limit).
func (l *Local) Put(ctx context.Context, key string, r io.Reader, limit int64) (size int64, md5sum string, err error) {
	if err := checkKey(key); err != nil {
		return 0, "", err
	}
	if dir := path.Dir(key); dir != "." {
		if err := l.root.MkdirAll(dir, 0o700); err != nil {
			return 0, "", fmt.Errorf("blob put %s: %w", key, err)
		}
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := key + ".tmp-" + hex.EncodeToString(rnd[:])
	f, err := l.root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, "", fmt.Errorf("blob put %s: %w", key, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = l.root.Remove(tmp)
		}
	}()
	h := md5.New()
	src := r
	if limit > 0 {
		src = io.LimitReader(r, limit+1)
	}
	size, err = io.Copy(io.MultiWriter(f, h), ctxReader{ctx, src})
	if err != nil {
		return 0, "", fmt.Errorf("blob put %s: %w", key, err)
	}
	if limit > 0 && size > limit {
		return 0, "", fmt.Errorf("blob put %s: %w", key, ErrTooLarge)
	}
	if err = f.Sync(); err != nil {
		return 0, "", fmt.Errorf("blob put %s: %w", key, err)
	}
	if err = f.Close(); err != nil {
		return 0, "", fmt.Errorf("blob put %s: %w", key, err)
	}
	if err = l.root.Rename(tmp, key); err != nil {
		return 0, "", fmt.Errorf("blob put %s: %w", key, err)
	}
	return size, hex.EncodeToString(h.Sum(nil)), nil
}

// ErrTooLarge is returned by Put when the content passes the limit.
var ErrTooLarge = errors.New("blob: object too large")

// Open opens the object for reading.
func (l *Local) Open(_ context.Context, key string) (Object, Info, error) {
	if err := checkKey(key); err != nil {
		return nil, Info{}, err
	}
	f, err := l.root.Open(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Info{}, fmt.Errorf("blob %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, Info{}, fmt.Errorf("blob %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, Info{}, fmt.Errorf("blob %s: %w", key, err)
	}
	if st.IsDir() {
		_ = f.Close()
		return nil, Info{}, fmt.Errorf("blob %s: %w", key, ErrNotFound)
	}
	return f, Info{Size: st.Size(), ModTime: st.ModTime()}, nil
}

// Sum returns the size and MD5 (hex) of the stored object.
func (l *Local) Sum(ctx context.Context, key string) (int64, string, error) {
	o, _, err := l.Open(ctx, key)
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

// Rename moves the object at from to to, replacing any object there.
func (l *Local) Rename(_ context.Context, from, to string) error {
	if err := checkKey(from); err != nil {
		return err
	}
	if err := checkKey(to); err != nil {
		return err
	}
	if dir := path.Dir(to); dir != "." {
		if err := l.root.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("blob rename %s: %w", to, err)
		}
	}
	err := l.root.Rename(from, to)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob %s: %w", from, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("blob rename %s: %w", from, err)
	}
	return nil
}

// Delete removes the object; a missing object is not an error.
func (l *Local) Delete(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := l.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob delete %s: %w", key, err)
	}
	return nil
}

// ctxReader stops a copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
