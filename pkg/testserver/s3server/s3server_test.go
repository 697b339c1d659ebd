package s3server

import (
	"context"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"
)

func TestServer_PutsListsAndCountsRequests(t *testing.T) {
	s := Start(t)
	if err := s.MakeBucket("bkt"); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("bkt", "dir/a.yaml", []byte("a: 1\n")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var keys []string
	for o := range s.Client().ListObjects(ctx, "bkt", minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	if len(keys) != 1 || keys[0] != "dir/a.yaml" {
		t.Fatalf("listed %v, want [dir/a.yaml]", keys)
	}
	obj, err := s.Client().GetObject(ctx, "bkt", "dir/a.yaml", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(obj)
	if err != nil || string(data) != "a: 1\n" {
		t.Fatalf("read %q, %v", data, err)
	}
	if n, err := s.Requests("GetObject"); err != nil || n != 1 {
		t.Fatalf("GetObject requests = %d, %v; want 1", n, err)
	}
	if err := s.Delete("bkt", "dir/a.yaml"); err != nil {
		t.Fatal(err)
	}
}
