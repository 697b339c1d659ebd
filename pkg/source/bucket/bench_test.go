package bucket_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tether-gitops/tether/pkg/source/bucket"
)

// BenchmarkSnapshot_NoChange1000 is the cost of one poll of an unchanged
// bucket of 1,000 objects: one paginated listing (1,000 keys per page), the
// revision digest and the ignore rules, and no download.
func BenchmarkSnapshot_NoChange1000(b *testing.B) {
	objects := map[string]string{".sourceignore": "*.tmp\n"}
	for i := range 1000 {
		objects[fmt.Sprintf("apps/app-%02d/manifest-%03d.yaml", i%50, i)] = fmt.Sprintf("n: %d\n", i)
	}
	s, name := newBucket(b, objects)
	c := client(b, s, name)
	ctx := context.Background()
	first, err := c.Snapshot(ctx, bucket.SnapshotOptions{})
	must(b, err)
	before := gets(b, s)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		snap, err := c.Snapshot(ctx, bucket.SnapshotOptions{CachedIgnoreFile: first.IgnoreFile})
		if err != nil || snap.Revision != first.Revision {
			b.Fatalf("revision %s, %v", snap.Revision, err)
		}
	}
	b.StopTimer()
	if n := gets(b, s) - before; n != 0 {
		b.Fatalf("%d GetObject requests during no-change polls", n)
	}
}
