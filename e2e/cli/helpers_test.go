package cli

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

// gitFixture is a namespace with a git repository served on 127.0.0.1 and a
// Ready GitRepository "app" for it. Its interval is an hour, so that only a
// reconcile request picks up a new commit.
type gitFixture struct {
	ns   string
	repo *gitserver.Repo
	src  *sourcev1.GitRepository
}

func newGitFixture(t *testing.T, files map[string]string) *gitFixture {
	t.Helper()
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", files)
	src := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: sourcev1.GitRepositorySpec{
			URL:       srv.URL("app"),
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"},
			Interval:  &metav1.Duration{Duration: time.Hour},
		},
	}
	harness.Create(t, cluster, src)
	f := &gitFixture{ns: ns, repo: repo, src: src}
	harness.WaitForRevision(t, cluster, src, f.revision(t))
	reconciler.LogOnFailure(t)
	return f
}

func (f *gitFixture) revision(t *testing.T) string {
	t.Helper()
	return "main@sha1:" + f.repo.Head(t)
}

// tether runs the CLI and fails the test unless it exits with want.
func tether(t *testing.T, want int, args ...string) harness.Result {
	t.Helper()
	res := harness.Tether(t, cluster, args...)
	if res.ExitCode != want {
		t.Fatalf("tether %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), res.ExitCode, want, res.Stdout, res.Stderr)
	}
	return res
}

// row returns the fields of the table line whose NAME column (after the
// NAMESPACE column with -A) is name.
func row(t *testing.T, table, name string) []string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		fields := strings.Fields(line)
		for i := 0; i < len(fields) && i < 2; i++ {
			if fields[i] == name {
				return fields
			}
		}
	}
	t.Fatalf("no row %q in:\n%s", name, table)
	return nil
}

func mustContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s does not contain %q:\n%s", what, p, s)
		}
	}
}

func mustNotContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(s, p) {
			t.Errorf("%s contains %q:\n%s", what, p, s)
		}
	}
}

func clientKey(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }
