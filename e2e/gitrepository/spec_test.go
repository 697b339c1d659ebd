package gitrepository

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

// A repository may commit a symlink that points out of the checkout; an
// include whose toPath goes through it must not delete or write there.
func TestGitRepository_IncludeRefusesAToPathThroughASymlink(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t)
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(outside, "base"), 0o755); err != nil {
		t.Fatal(err)
	}
	precious := filepath.Join(outside, "base", "precious")
	if err := os.WriteFile(precious, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	app := gitserver.InitRepo(t, srv.Root(), "app", map[string]string{"app.yaml": "app\n"})
	if err := os.Symlink(outside, filepath.Join(app.Work, "vendor")); err != nil {
		t.Fatal(err)
	}
	app.Commit(t, nil, "vendor is a symlink out of the repository")
	lib := gitserver.InitRepo(t, srv.Root(), "lib", map[string]string{"base/x.yaml": "x: 1\n"})

	libObj := createRepo(t, ns, "lib", sourcev1.GitRepositorySpec{URL: srv.URL("lib")})
	harness.WaitForRevision(t, cluster, libObj, "main@sha1:"+lib.Head(t))
	linked := createRepo(t, ns, "linked", sourcev1.GitRepositorySpec{URL: srv.URL("app"), Include: []sourcev1.GitRepositoryInclude{
		{GitRepositoryRef: meta.LocalObjectReference{Name: "lib"}, FromPath: "base", ToPath: "vendor/base"},
	}})
	dot := createRepo(t, ns, "dot", sourcev1.GitRepositorySpec{URL: srv.URL("app"), Include: []sourcev1.GitRepositoryInclude{
		{GitRepositoryRef: meta.LocalObjectReference{Name: "lib"}, FromPath: "base", ToPath: "."},
	}})
	missing := createRepo(t, ns, "missing", sourcev1.GitRepositorySpec{URL: srv.URL("app"), Include: []sourcev1.GitRepositoryInclude{
		{GitRepositoryRef: meta.LocalObjectReference{Name: "nope"}},
	}})

	for obj, want := range map[*sourcev1.GitRepository]string{
		linked:  `toPath "vendor/base" goes through "vendor", a symlink in the repository`,
		dot:     "would replace the whole repository",
		missing: `included GitRepository "nope" not found in namespace "` + ns + `": create it or remove it from spec.include`,
	} {
		got := harness.WaitForReason(t, cluster, obj, "IncludeUnavailable")
		if msg := meta.GetCondition(got, meta.ReadyCondition).Message; !strings.Contains(msg, want) {
			t.Errorf("%s: Ready message %q, want it to contain %q", obj.Name, msg, want)
		}
		if got.Status.Artifact != nil {
			t.Errorf("%s: an artifact was stored despite the failed include: %+v", obj.Name, got.Status.Artifact)
		}
	}
	entries, err := os.ReadDir(filepath.Join(outside, "base"))
	if err != nil || len(entries) != 1 || entries[0].Name() != "precious" {
		t.Errorf("the directory the symlink points at changed: %v, %v", entries, err)
	}
}

// spec.recurseSubmodules checks out submodules, served by the same server
// with the same credentials, into the artifact.
func TestGitRepository_RecurseSubmodules(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	const user, pass = "git", "submodule-secret"
	srv := gitserver.NewHTTP(t, gitserver.WithBasicAuth(user, pass))
	gitserver.InitRepo(t, srv.Root(), "lib", map[string]string{"lib.yaml": "lib: 1\n"})
	app := gitserver.InitRepo(t, srv.Root(), "app", map[string]string{"app.yaml": "app\n"})
	gitserver.Git(t, app.Work, "-c", "protocol.file.allow=always", "submodule", "-q", "add", "../lib.git", "vendor/lib")
	head := app.Commit(t, nil, "add lib as a submodule")
	harness.CreateSecret(t, cluster, ns, "creds", map[string][]byte{"username": []byte(user), "password": []byte(pass)})

	obj := createRepo(t, ns, "app", sourcev1.GitRepositorySpec{URL: srv.URL("app"), SecretRef: &meta.LocalObjectReference{Name: "creds"}})
	got := harness.WaitForRevision(t, cluster, obj, "main@sha1:"+head)
	if files := harness.FetchArtifact(t, got.Status.Artifact); files["app.yaml"] != "app\n" || files["vendor/lib/lib.yaml"] != "" {
		t.Fatalf("without recurseSubmodules: files = %v", files)
	}

	patchSpec(t, obj, func(o *sourcev1.GitRepository) { o.Spec.RecurseSubmodules = true })
	got = harness.WaitFor(t, cluster, obj, "an artifact with the submodule", func(o *sourcev1.GitRepository) bool {
		return meta.IsReady(o) && o.Status.ObservedGeneration == o.Generation && o.Status.ObservedRecurseSubmodules
	})
	files := harness.FetchArtifact(t, got.Status.Artifact)
	if files["vendor/lib/lib.yaml"] != "lib: 1\n" || files["app.yaml"] != "app\n" {
		t.Errorf("with recurseSubmodules: files = %v", files)
	}
}

// A URL that can never work stalls the object instead of retrying.
func TestGitRepository_InvalidURLStalls(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	obj := createRepo(t, ns, "bad", sourcev1.GitRepositorySpec{URL: "https://127.0.0.1"})
	got := harness.WaitFor(t, cluster, obj, "Stalled", func(o *sourcev1.GitRepository) bool {
		return meta.IsTrue(o, meta.StalledCondition) && o.Status.ObservedGeneration == o.Generation
	})
	ready := meta.GetCondition(got, meta.ReadyCondition)
	if ready == nil || ready.Status != "False" || ready.Reason != meta.InvalidURLReason || !strings.Contains(ready.Message, "has no repository path") {
		t.Errorf("Ready = %+v, want False %s naming the problem", ready, meta.InvalidURLReason)
	}
	if meta.IsTrue(got, meta.ReconcilingCondition) {
		t.Errorf("a stalled source still says Reconciling: %s", harness.Conditions(got))
	}
}
