package gitrepository

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

func TestGitRepository_NewCommitBecomesNewArtifact(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", map[string]string{"deploy/cm.yaml": "v: 1\n"})
	head := repo.Head(t)

	obj := createRepo(t, ns, "app", sourcev1.GitRepositorySpec{URL: srv.URL("app"), Reference: &sourcev1.GitRepositoryRef{Branch: "main"}})
	got := harness.WaitForRevision(t, cluster, obj, "main@sha1:"+head)
	if files := harness.FetchArtifact(t, got.Status.Artifact); files["deploy/cm.yaml"] != "v: 1\n" {
		t.Errorf("artifact files = %v", files)
	}
	if !meta.IsTrue(got, meta.ArtifactInStorageCondition) || got.Status.ObservedGeneration != got.Generation {
		t.Errorf("status: %s, observedGeneration %d", harness.Conditions(got), got.Status.ObservedGeneration)
	}
	if !strings.HasPrefix(got.Status.Artifact.Digest, "sha256:") || got.Status.Artifact.Size == nil {
		t.Errorf("artifact = %+v", got.Status.Artifact)
	}

	// A new commit is picked up within the interval (2s), no request needed.
	next := repo.Commit(t, map[string]string{"deploy/cm.yaml": "v: 2\n", "deploy/new.yaml": "n: 1\n"}, "second")
	got = harness.WaitForRevision(t, cluster, obj, "main@sha1:"+next)
	files := harness.FetchArtifact(t, got.Status.Artifact)
	if files["deploy/cm.yaml"] != "v: 2\n" || files["deploy/new.yaml"] != "n: 1\n" {
		t.Errorf("artifact files after commit = %v", files)
	}
	if _, err := os.Stat(filepath.Join(reconciler.StoragePath, got.Status.Artifact.Path)); err != nil {
		t.Errorf("artifact file not in storage: %v", err)
	}
}

func TestGitRepository_NoChangePollIsOneRoundTrip(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", map[string]string{"a.yaml": "a: 1\n"})
	obj := createRepo(t, ns, "app", sourcev1.GitRepositorySpec{URL: srv.URL("app"), Interval: &metav1.Duration{Duration: time.Hour}})
	first := harness.WaitForRevision(t, cluster, obj, "main@sha1:"+repo.Head(t))

	srv.ResetRequests()
	got := harness.ReconcileAndWait(t, cluster, obj)
	reqs := srv.Requests()
	if len(reqs) != 1 || !strings.Contains(reqs[0], "/info/refs") {
		t.Errorf("a no-change reconcile made requests %v, want one ls-remote (GET info/refs)", reqs)
	}
	if got.Status.Artifact.Digest != first.Status.Artifact.Digest || !got.Status.Artifact.LastUpdateTime.Equal(&first.Status.Artifact.LastUpdateTime) {
		t.Errorf("artifact changed without a new commit: %+v -> %+v", first.Status.Artifact, got.Status.Artifact)
	}
}

func TestGitRepository_TagAndSemverResolveToTheRightCommit(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", map[string]string{"v": "1.0.0"})
	c100 := repo.Head(t)
	repo.Tag(t, "v1.0.0", true)
	c110 := repo.Commit(t, map[string]string{"v": "1.1.0"}, "1.1.0")
	repo.Tag(t, "v1.1.0", false)
	c200 := repo.Commit(t, map[string]string{"v": "2.0.0"}, "2.0.0")
	repo.Tag(t, "v2.0.0", true)
	repo.Commit(t, map[string]string{"v": "unreleased"}, "wip")

	tag := createRepo(t, ns, "tag", sourcev1.GitRepositorySpec{URL: srv.URL("app"), Reference: &sourcev1.GitRepositoryRef{Tag: "v1.0.0"}})
	semver := createRepo(t, ns, "semver", sourcev1.GitRepositorySpec{URL: srv.URL("app"), Reference: &sourcev1.GitRepositoryRef{SemVer: ">=1.0.0 <2.0.0"}})
	commit := createRepo(t, ns, "commit", sourcev1.GitRepositorySpec{URL: srv.URL("app"), Reference: &sourcev1.GitRepositoryRef{Branch: "main", Commit: c200}})

	if files := harness.FetchArtifact(t, harness.WaitForRevision(t, cluster, tag, "v1.0.0@sha1:"+c100).Status.Artifact); files["v"] != "1.0.0" {
		t.Errorf("tag artifact holds %q", files["v"])
	}
	if files := harness.FetchArtifact(t, harness.WaitForRevision(t, cluster, semver, "v1.1.0@sha1:"+c110).Status.Artifact); files["v"] != "1.1.0" {
		t.Errorf("semver artifact holds %q", files["v"])
	}
	if files := harness.FetchArtifact(t, harness.WaitForRevision(t, cluster, commit, "main@sha1:"+c200).Status.Artifact); files["v"] != "2.0.0" {
		t.Errorf("commit artifact holds %q", files["v"])
	}

	// A new tag in range moves the semver source.
	c150 := repo.Commit(t, map[string]string{"v": "1.5.0"}, "1.5.0")
	repo.Tag(t, "v1.5.0", true)
	harness.WaitForRevision(t, cluster, semver, "v1.5.0@sha1:"+c150)
}

func TestGitRepository_FollowsForcePush(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", map[string]string{"a": "1"})
	repo.Commit(t, map[string]string{"a": "2"}, "two")
	obj := createRepo(t, ns, "app", sourcev1.GitRepositorySpec{URL: srv.URL("app")})
	harness.WaitForRevision(t, cluster, obj, "main@sha1:"+repo.Head(t))

	rewritten := repo.ForcePush(t, map[string]string{"a": "rewritten"}, "history rewritten")
	got := harness.WaitForRevision(t, cluster, obj, "main@sha1:"+rewritten)
	if files := harness.FetchArtifact(t, got.Status.Artifact); files["a"] != "rewritten" {
		t.Errorf("after force-push the artifact holds %q", files["a"])
	}
}

func TestGitRepository_PrivateRepositoryNeedsCredentials(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t, gitserver.WithBasicAuth("deploy", "s3cret-password"))
	repo := gitserver.InitRepo(t, srv.Root(), "private", map[string]string{"a": "1"})

	anon := createRepo(t, ns, "anonymous", sourcev1.GitRepositorySpec{URL: srv.URL("private")})
	got := harness.WaitForReason(t, cluster, anon, meta.AuthenticationFailedReason)
	if !meta.IsTrue(got, meta.FetchFailedCondition) || got.Status.Artifact != nil {
		t.Errorf("status: %s", harness.Conditions(got))
	}

	harness.CreateSecret(t, cluster, ns, "wrong", map[string][]byte{"username": []byte("deploy"), "password": []byte("not-it")})
	wrong := createRepo(t, ns, "wrong", sourcev1.GitRepositorySpec{URL: srv.URL("private"), SecretRef: &meta.LocalObjectReference{Name: "wrong"}})
	got = harness.WaitForReason(t, cluster, wrong, meta.AuthenticationFailedReason)
	if strings.Contains(harness.Conditions(got), "not-it") {
		t.Errorf("the password leaked into status: %s", harness.Conditions(got))
	}

	missing := createRepo(t, ns, "missing-secret", sourcev1.GitRepositorySpec{URL: srv.URL("private"), SecretRef: &meta.LocalObjectReference{Name: "nosuch"}})
	got = harness.WaitForReason(t, cluster, missing, meta.AuthenticationFailedReason)
	if c := meta.GetCondition(got, meta.ReadyCondition); !strings.Contains(c.Message, `secret "nosuch" not found`) {
		t.Errorf("message does not name the secret: %s", c.Message)
	}

	harness.CreateSecret(t, cluster, ns, "creds", map[string][]byte{"username": []byte("deploy"), "password": []byte("s3cret-password")})
	ok := createRepo(t, ns, "authenticated", sourcev1.GitRepositorySpec{URL: srv.URL("private"), SecretRef: &meta.LocalObjectReference{Name: "creds"}})
	harness.WaitForRevision(t, cluster, ok, "main@sha1:"+repo.Head(t))
}

func TestGitRepository_BearerTokenAndCustomCA(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t, gitserver.WithTLS(), gitserver.WithBearerToken("tok-123"))
	repo := gitserver.InitRepo(t, srv.Root(), "app", map[string]string{"a": "1"})

	harness.CreateSecret(t, cluster, ns, "no-ca", map[string][]byte{"bearerToken": []byte("tok-123")})
	noCA := createRepo(t, ns, "no-ca", sourcev1.GitRepositorySpec{URL: srv.URL("app"), SecretRef: &meta.LocalObjectReference{Name: "no-ca"}})
	got := harness.WaitFor(t, cluster, noCA, "a TLS failure", func(o *sourcev1.GitRepository) bool {
		c := meta.GetCondition(o, meta.ReadyCondition)
		return c != nil && c.Status == metav1.ConditionFalse && strings.Contains(c.Message, "certificate")
	})
	if got.Status.Artifact != nil {
		t.Error("an untrusted server produced an artifact")
	}

	harness.CreateSecret(t, cluster, ns, "with-ca", map[string][]byte{"bearerToken": []byte("tok-123"), "ca.crt": srv.CACert()})
	withCA := createRepo(t, ns, "with-ca", sourcev1.GitRepositorySpec{URL: srv.URL("app"), SecretRef: &meta.LocalObjectReference{Name: "with-ca"}})
	harness.WaitForRevision(t, cluster, withCA, "main@sha1:"+repo.Head(t))
}

func TestGitRepository_SSHChecksTheHostKey(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	root := t.TempDir()
	srv := gitserver.NewSSH(t, root)
	repo := gitserver.InitRepo(t, root, "app", map[string]string{"a": "1"})
	priv, pub := gitserver.NewClientKey(t)
	srv.AuthorizedKey(pub)

	harness.CreateSecret(t, cluster, ns, "ssh", map[string][]byte{"identity": priv, "known_hosts": srv.KnownHosts()})
	good := createRepo(t, ns, "good", sourcev1.GitRepositorySpec{URL: srv.URL("app"), SecretRef: &meta.LocalObjectReference{Name: "ssh"}})
	harness.WaitForRevision(t, cluster, good, "main@sha1:"+repo.Head(t))

	other := gitserver.NewSSH(t, t.TempDir()) // another host key
	harness.CreateSecret(t, cluster, ns, "ssh-wrong-host", map[string][]byte{"identity": priv, "known_hosts": gitserver.KnownHostsLine(srv.Addr(), other.HostKey())})
	bad := createRepo(t, ns, "bad", sourcev1.GitRepositorySpec{URL: srv.URL("app"), SecretRef: &meta.LocalObjectReference{Name: "ssh-wrong-host"}})
	got := harness.WaitFor(t, cluster, bad, "a host key failure", func(o *sourcev1.GitRepository) bool {
		c := meta.GetCondition(o, meta.ReadyCondition)
		return c != nil && c.Status == metav1.ConditionFalse && strings.Contains(strings.ToLower(c.Message), "host key")
	})
	if got.Status.Artifact != nil {
		t.Error("a server with the wrong host key produced an artifact")
	}
	if strings.Contains(harness.Conditions(got), "PRIVATE KEY") {
		t.Error("the private key leaked into status")
	}
}

func TestGitRepository_IgnoreRules(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t)
	gitserver.InitRepo(t, srv.Root(), "app", map[string]string{
		".sourceignore":         "secrets/\n*.md\n",
		"deploy/app.yaml":       "a: 1\n",
		"deploy/README.md":      "docs\n",
		"secrets/key.yaml":      "k: 1\n",
		".github/workflows/x.y": "ci\n",
		"logo.png":              "png",
		"tests/fixture.yaml":    "f: 1\n",
	})
	ignore := "tests/\n"
	obj := createRepo(t, ns, "app", sourcev1.GitRepositorySpec{URL: srv.URL("app"), Ignore: &ignore})
	got := harness.WaitFor(t, cluster, obj, "an artifact", func(o *sourcev1.GitRepository) bool { return meta.IsReady(o) && o.Status.Artifact != nil })
	files := harness.FetchArtifact(t, got.Status.Artifact)
	if files["deploy/app.yaml"] == "" {
		t.Errorf("deploy/app.yaml missing: %v", files)
	}
	for _, excluded := range []string{"deploy/README.md", "secrets/key.yaml", ".github/workflows/x.y", "logo.png", "tests/fixture.yaml"} {
		if _, ok := files[excluded]; ok {
			t.Errorf("%s should be excluded", excluded)
		}
	}
	if got.Status.ObservedIgnore == nil || *got.Status.ObservedIgnore != ignore {
		t.Errorf("observedIgnore = %v", got.Status.ObservedIgnore)
	}
}

func TestGitRepository_ServerDownKeepsTheLastArtifact(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", map[string]string{"a": "1"})
	obj := createRepo(t, ns, "app", sourcev1.GitRepositorySpec{URL: srv.URL("app")})
	good := harness.WaitForRevision(t, cluster, obj, "main@sha1:"+repo.Head(t))

	srv.Down()
	got := harness.WaitForReason(t, cluster, obj, "GitOperationFailed")
	if got.Status.Artifact == nil || got.Status.Artifact.Digest != good.Status.Artifact.Digest {
		t.Fatalf("artifact lost while the server is down: %+v", got.Status.Artifact)
	}
	if !meta.IsTrue(got, meta.ArtifactInStorageCondition) || !meta.IsTrue(got, meta.FetchFailedCondition) {
		t.Errorf("conditions: %s", harness.Conditions(got))
	}
	if files := harness.FetchArtifact(t, got.Status.Artifact); files["a"] != "1" {
		t.Errorf("stored artifact unreadable: %v", files)
	}

	srv.Up()
	next := repo.Commit(t, map[string]string{"a": "2"}, "back")
	got = harness.WaitForRevision(t, cluster, obj, "main@sha1:"+next)
	if meta.GetCondition(got, meta.FetchFailedCondition) != nil {
		t.Errorf("FetchFailed not cleared: %s", harness.Conditions(got))
	}
}

func TestGitRepository_VerifiesCommitSignatures(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", map[string]string{"a": "unsigned"})
	trusted, untrusted := gitserver.NewGPGKey(t), gitserver.NewGPGKey(t)
	harness.CreateSecret(t, cluster, ns, "keys", map[string][]byte{"author.asc": []byte(trusted.PublicKey)})
	verify := &sourcev1.GitRepositoryVerification{Mode: sourcev1.ModeGitHEAD, SecretRef: meta.LocalObjectReference{Name: "keys"}}

	obj := createRepo(t, ns, "app", sourcev1.GitRepositorySpec{URL: srv.URL("app"), Verification: verify})
	got := harness.WaitForReason(t, cluster, obj, meta.VerificationFailedReason)
	if got.Status.Artifact != nil {
		t.Error("an unsigned commit became an artifact")
	}

	signed := repo.SignedCommit(t, trusted, map[string]string{"a": "signed"}, "signed")
	got = harness.WaitForRevision(t, cluster, obj, "main@sha1:"+signed)
	if c := meta.GetCondition(got, meta.SourceVerifiedCondition); c == nil || c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, trusted.KeyID) {
		t.Errorf("SourceVerified: %+v", c)
	}

	forged := repo.SignedCommit(t, untrusted, map[string]string{"a": "forged"}, "forged")
	got = harness.WaitForReason(t, cluster, obj, meta.VerificationFailedReason)
	if got.Status.Artifact.Revision != "main@sha1:"+signed {
		t.Errorf("a commit signed by an unknown key replaced the artifact: %s (forged %s)", got.Status.Artifact.Revision, forged)
	}
}

func TestGitRepository_IncludeCopiesAnotherRepository(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t)
	gitserver.InitRepo(t, srv.Root(), "app", map[string]string{"app.yaml": "app\n"})
	lib := gitserver.InitRepo(t, srv.Root(), "lib", map[string]string{"base/x.yaml": "x: 1\n", "other/y": "y"})

	libObj := createRepo(t, ns, "lib", sourcev1.GitRepositorySpec{URL: srv.URL("lib")})
	appObj := createRepo(t, ns, "app", sourcev1.GitRepositorySpec{URL: srv.URL("app"), Include: []sourcev1.GitRepositoryInclude{
		{GitRepositoryRef: meta.LocalObjectReference{Name: "lib"}, FromPath: "base", ToPath: "vendor/base"},
	}})
	harness.WaitForRevision(t, cluster, libObj, "main@sha1:"+lib.Head(t))
	got := harness.WaitFor(t, cluster, appObj, "an artifact with the include", func(o *sourcev1.GitRepository) bool {
		return meta.IsReady(o) && len(o.Status.IncludedArtifacts) == 1
	})
	files := harness.FetchArtifact(t, got.Status.Artifact)
	if files["vendor/base/x.yaml"] != "x: 1\n" || files["app.yaml"] != "app\n" {
		t.Errorf("files = %v", files)
	}
	if _, ok := files["vendor/base/other/y"]; ok {
		t.Error("include copied more than fromPath")
	}

	// A new commit in the included repository rebuilds the includer.
	lib.Commit(t, map[string]string{"base/x.yaml": "x: 2\n"}, "lib change")
	got = harness.WaitFor(t, cluster, appObj, "the new include", func(o *sourcev1.GitRepository) bool {
		return meta.IsReady(o) && harness.FetchArtifact(t, o.Status.Artifact)["vendor/base/x.yaml"] == "x: 2\n"
	})
}

func TestGitRepository_SuspendAndDelete(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", map[string]string{"a": "1"})
	obj := createRepo(t, ns, "app", sourcev1.GitRepositorySpec{URL: srv.URL("app")})
	first := harness.WaitForRevision(t, cluster, obj, "main@sha1:"+repo.Head(t))
	if len(first.Finalizers) == 0 {
		t.Fatal("no finalizer on a reconciled source")
	}

	harness.SetSuspend(t, cluster, obj, true)
	srv.ResetRequests()
	repo.Commit(t, map[string]string{"a": "2"}, "while suspended")
	// Three intervals pass with no fetch at all.
	time.Sleep(6 * time.Second)
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("a suspended source made %d requests", n)
	}
	if harness.Get(t, cluster, obj).Status.Artifact.Revision != first.Status.Artifact.Revision {
		t.Error("a suspended source moved")
	}

	dir := filepath.Join(reconciler.StoragePath, filepath.Dir(first.Status.Artifact.Path))
	harness.SetSuspend(t, cluster, obj, false)
	harness.WaitForRevision(t, cluster, obj, "main@sha1:"+repo.Head(t))

	if err := cluster.Client.Delete(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, harness.WaitTimeout, 100*time.Millisecond, func() error {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			return fmt.Errorf("artifact directory %s still exists (%v)", dir, err)
		}
		err := cluster.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), &sourcev1.GitRepository{})
		if client.IgnoreNotFound(err) != nil || err == nil {
			return fmt.Errorf("object still exists: %v", err)
		}
		return nil
	})
}
