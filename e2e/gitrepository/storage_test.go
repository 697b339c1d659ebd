package gitrepository

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

// Each new revision is announced by a NewArtifact event that names the
// commit; a reconcile that stores nothing new announces nothing.
func TestGitRepository_NewRevisionEmitsANewArtifactEvent(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", map[string]string{"a.yaml": "a: 1\n"})
	obj := createRepo(t, ns, "app", sourcev1.GitRepositorySpec{URL: srv.URL("app")})
	harness.WaitForRevision(t, cluster, obj, "main@sha1:"+repo.Head(t))
	next := repo.Commit(t, map[string]string{"a.yaml": "a: 2\n"}, "bump a to 2")
	harness.WaitForRevision(t, cluster, obj, "main@sha1:"+next)

	want := []string{
		"NewArtifact: stored artifact for commit 'initial commit'",
		"NewArtifact: stored artifact for commit 'bump a to 2'",
	}
	var got []string
	testcluster.Eventually(t, harness.WaitTimeout, 100*time.Millisecond, func() error {
		got = events(t, obj)
		for _, w := range want {
			if !slices.Contains(got, w) {
				return fmt.Errorf("no event %q in %q", w, got)
			}
		}
		return nil
	})
	// Both revisions are there; no other NewArtifact (the polls in between
	// stored nothing).
	n := 0
	for _, e := range got {
		if strings.HasPrefix(e, "NewArtifact:") {
			n++
		}
	}
	if n != len(want) {
		t.Errorf("%d NewArtifact events, want %d: %q", n, len(want), got)
	}
}

// GC keeps --artifact-retention (2 in TestMain) artifacts per source: the
// current one and the one before it.
func TestGitRepository_GCKeepsTheLastTwoArtifacts(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", map[string]string{"a.yaml": "a: 0\n"})
	obj := createRepo(t, ns, "app", sourcev1.GitRepositorySpec{URL: srv.URL("app")})
	got := harness.WaitForRevision(t, cluster, obj, "main@sha1:"+repo.Head(t))
	paths := []string{got.Status.Artifact.Path}
	for i := 1; i <= 3; i++ {
		head := repo.Commit(t, map[string]string{"a.yaml": fmt.Sprintf("a: %d\n", i)}, fmt.Sprintf("commit %d", i))
		got = harness.WaitForRevision(t, cluster, obj, "main@sha1:"+head)
		paths = append(paths, got.Status.Artifact.Path)
	}
	dir := filepath.Join(reconciler.StoragePath, filepath.Dir(got.Status.Artifact.Path))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	want := []string{filepath.Base(paths[2]), filepath.Base(paths[3])}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("storage holds %v after 4 revisions, want the last two %v", names, want)
	}
}

// A revision over --artifact-max-files or --artifact-max-size (1000 and 4Mi
// in TestMain) fails with a message that says which limit and what to do,
// and the last artifact stays.
func TestGitRepository_RevisionOverTheArtifactLimitsFails(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", map[string]string{"a.yaml": "a: 1\n"})
	obj := createRepo(t, ns, "app", sourcev1.GitRepositorySpec{URL: srv.URL("app")})
	good := harness.WaitForRevision(t, cluster, obj, "main@sha1:"+repo.Head(t)).Status.Artifact

	failsWith := func(what string, files map[string]string, want ...string) {
		t.Helper()
		head := repo.Commit(t, files, what)
		got := harness.WaitFor(t, cluster, obj, what+" to fail", func(o *sourcev1.GitRepository) bool {
			c := meta.GetCondition(o, meta.ReadyCondition)
			return c != nil && c.Status == metav1.ConditionFalse && strings.Contains(c.Message, head)
		})
		c := meta.GetCondition(got, meta.ReadyCondition)
		for _, w := range append(want, "--artifact-max-size / --artifact-max-files", "spec.ignore") {
			if c.Reason != meta.BuildFailedReason || !strings.Contains(c.Message, w) {
				t.Errorf("%s: Ready %s %q, want %s with %q", what, c.Reason, c.Message, meta.BuildFailedReason, w)
			}
		}
		if got.Status.Artifact == nil || got.Status.Artifact.Digest != good.Digest || !meta.IsTrue(got, meta.ArtifactInStorageCondition) {
			t.Errorf("%s: the last artifact was not kept: %+v", what, got.Status.Artifact)
		}
	}

	many := map[string]string{}
	for i := range 1000 {
		many[fmt.Sprintf("many/%04d.yaml", i)] = "x\n"
	}
	failsWith("1000 files", many, "more than 1000 entries")

	big := map[string]string{"big.bin": strings.Repeat("0123456789abcdef", (4<<20)/16+1)}
	for name := range many {
		big[name] = gitserver.Deleted
	}
	failsWith("a 4 MiB file", big, "more than 4194304 bytes")

	head := repo.Commit(t, map[string]string{"big.bin": gitserver.Deleted}, "back under the limits")
	got := harness.WaitForRevision(t, cluster, obj, "main@sha1:"+head)
	if files := harness.FetchArtifact(t, got.Status.Artifact); files["a.yaml"] != "a: 1\n" || len(files) != 1 {
		t.Errorf("files = %v", files)
	}
}
