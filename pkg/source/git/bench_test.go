package git_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tether-gitops/tether/pkg/source/git"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

// BenchmarkCheckout5000Files is a depth-1 clone of a branch holding 5,000
// small files over smart HTTP (git-http-backend on 127.0.0.1), checkout
// included.
func BenchmarkCheckout5000Files(b *testing.B) {
	srv := gitserver.NewHTTP(b)
	files := make(map[string]string, 5000)
	for i := range 5000 {
		files[fmt.Sprintf("apps/app-%02d/manifest-%03d.yaml", i/100, i%100)] =
			fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\ndata:\n  index: %q\n", i, strconv.Itoa(i))
	}
	repo := gitserver.InitRepo(b, srv.Root(), "big", files)
	c := newClient(b, srv.URL("big"), git.Auth{})
	base := b.TempDir()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		dir := filepath.Join(base, strconv.Itoa(i))
		commit, err := c.Checkout(context.Background(), git.Ref{Branch: "main"}, dir)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if commit.Hash != repo.Head(b) {
			b.Fatalf("checked out %s", commit.Hash)
		}
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkResolveNoChange is the poll of an unchanged repository: one ref
// advertisement, compared with the stored revision.
func BenchmarkResolveNoChange(b *testing.B) {
	srv := gitserver.NewHTTP(b)
	repo := gitserver.InitRepo(b, srv.Root(), "app", baseFiles)
	for i := range 20 {
		repo.Tag(b, fmt.Sprintf("v1.%d.0", i), i%2 == 0)
	}
	c := newClient(b, srv.URL("app"), git.Auth{})
	stored := "main@sha1:" + repo.Head(b)
	b.ReportAllocs()
	for b.Loop() {
		rev, err := c.Resolve(context.Background(), git.Ref{Branch: "main"})
		if err != nil {
			b.Fatal(err)
		}
		if rev.Revision != stored {
			b.Fatalf("revision changed: %s", rev)
		}
	}
}
