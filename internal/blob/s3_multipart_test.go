package blob

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// TestS3Multipart stores an object larger than one upload part.
func TestS3Multipart(t *testing.T) {
	if testing.Short() {
		t.Skip("large object")
	}
	s := newFakeS3(t)
	ctx := context.Background()
	content := bytes.Repeat([]byte("0123456789abcdef"), (s3PartSize+1<<20)/16)
	size, sum, err := s.Put(ctx, "big/object", bytes.NewReader(content), 0)
	if err != nil || size != int64(len(content)) || sum != md5hex(content) {
		t.Fatalf("Put = %d %s %v", size, sum, err)
	}
	o, info, err := s.Open(ctx, "big/object")
	if err != nil || info.Size != int64(len(content)) {
		t.Fatalf("Open = %+v %v", info, err)
	}
	defer o.Close()
	if _, err := o.Seek(s3PartSize-8, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if _, err := io.ReadFull(o, buf); err != nil || !bytes.Equal(buf, content[s3PartSize-8:s3PartSize+8]) {
		t.Fatalf("read across the part boundary: %q %v", buf, err)
	}
	if _, _, err := s.Put(ctx, "big/limited", bytes.NewReader(content), s3PartSize+10); err == nil {
		t.Fatal("Put over the limit accepted")
	}
	if _, _, err := s.Open(ctx, "big/limited"); err == nil {
		t.Fatal("object left after a too-large multipart Put")
	}
}
