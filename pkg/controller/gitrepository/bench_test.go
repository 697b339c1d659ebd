package gitrepository

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tether-gitops/tether/pkg/artifact"
	"github.com/tether-gitops/tether/pkg/source/git"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

// BenchmarkCloneAndArchive5000Files measures what a new commit costs the
// reconciler for a 5,000-file repository: shallow clone, ignore rules, archive
// into the store. (A no-change poll is BenchmarkResolveNoChange in pkg/source/git.)
func BenchmarkCloneAndArchive5000Files(b *testing.B) {
	srv := gitserver.NewHTTP(b)
	files := make(map[string]string, 5000)
	for i := range 5000 {
		files[fmt.Sprintf("apps/app-%02d/manifest-%03d.yaml", i/100, i%100)] =
			fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\ndata:\n  index: %q\n", i, strconv.Itoa(i))
	}
	gitserver.InitRepo(b, srv.Root(), "big", files)
	c, err := git.New(srv.URL("big"), git.Auth{})
	if err != nil {
		b.Fatal(err)
	}
	store, err := artifact.NewStore(b.TempDir(), "http://127.0.0.1:1")
	if err != nil {
		b.Fatal(err)
	}
	base := b.TempDir()
	ref := artifact.ObjectRef{Kind: "GitRepository", Namespace: "bench", Name: "big"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		dir := filepath.Join(base, strconv.Itoa(i))
		commit, err := c.Checkout(context.Background(), git.Ref{Branch: "main"}, dir)
		if err != nil {
			b.Fatal(err)
		}
		ignore, err := git.LoadIgnore(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := store.ArchiveDir(ref, dir, commit.Revision, ignoreFilter(ignore)); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
