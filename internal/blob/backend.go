package blob

import (
	"context"
	"io"
)

// Backend is an object store the link Server serves from. Local and S3
// implement it; both are safe for concurrent use.
type Backend interface {
	// Put stores r under key, replacing any object, and returns its size
	// and MD5 (hex). At most limit bytes are accepted (limit <= 0: no
	// limit); more is ErrTooLarge and leaves no object behind.
	Put(ctx context.Context, key string, r io.Reader, limit int64) (size int64, md5sum string, err error)
	// Open opens the object for reading; a missing one is ErrNotFound.
	Open(ctx context.Context, key string) (Object, Info, error)
	// Sum returns the size and MD5 (hex) of the stored object.
	Sum(ctx context.Context, key string) (int64, string, error)
	// Rename moves the object at from to to, replacing any object there.
	Rename(ctx context.Context, from, to string) error
	// Delete removes the object; a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// Close releases the backend.
	Close() error
}

var (
	_ Backend = (*Local)(nil)
	_ Backend = (*S3)(nil)
)
