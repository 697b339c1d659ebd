package bootstrap

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	gossh "golang.org/x/crypto/ssh"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/manifestgen"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

const (
	clusterPath = "clusters/test"
	systemDir   = clusterPath + "/tether-system"
	syncName    = "tether-system"
)

// common are the flags every bootstrap in these tests passes.
func common(ns string, extra ...string) []string {
	return append([]string{"-n", ns, "--path", clusterPath, "--interval", "3s", "--timeout", "3m",
		"--author-name", "Bootstrap Test", "--author-email", "bootstrap@tether.invalid"}, extra...)
}

// leaveToNextTest suspends the namespace's sync objects when the test ends,
// so that they stop applying the shared cluster-scoped objects.
func leaveToNextTest(t *testing.T, ns string) {
	t.Cleanup(func() {
		ctx := context.Background()
		for _, obj := range []client.Object{
			&sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: syncName}},
			&kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: syncName}},
		} {
			patch := []byte(`{"spec":{"suspend":true}}`)
			_ = cluster.Client.Patch(ctx, obj, client.RawPatch("application/merge-patch+json", patch))
		}
	})
	reconciler.LogOnFailure(t)
}

func mustSucceed(t *testing.T, res harness.Result) {
	t.Helper()
	if res.ExitCode != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", res.ExitCode, res.Stderr)
	}
}

func getSecret(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// assertSynced checks that the sync objects are Ready at the branch's head.
func assertSynced(t *testing.T, ns, bare string) (string, *sourcev1.GitRepository) {
	t.Helper()
	return assertSyncedAt(t, ns, bare, "main")
}

// assertSyncedAt checks that the sync objects are Ready at branch's head.
func assertSyncedAt(t *testing.T, ns, bare, branch string) (string, *sourcev1.GitRepository) {
	t.Helper()
	head := gitserver.Git(t, bare, "rev-parse", branch)
	rev := branch + "@sha1:" + head
	repo := harness.Get(t, cluster, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: syncName}})
	if !meta.IsReady(repo) || !repo.Status.Artifact.HasRevision(rev) {
		t.Errorf("GitRepository not Ready at %s: %s", rev, harness.Conditions(repo))
	}
	ks := harness.Get(t, cluster, &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: syncName}})
	if !meta.IsReady(ks) || ks.Status.LastAppliedRevision != rev {
		t.Errorf("Kustomization not Ready at %s (applied %q): %s", rev, ks.Status.LastAppliedRevision, harness.Conditions(ks))
	}
	for _, f := range []string{"components.yaml", "sync.yaml", "kustomization.yaml"} {
		if _, err := gitserver.RunGit(bare, "cat-file", "-e", branch+":"+systemDir+"/"+f); err != nil {
			t.Errorf("%s/%s is not in the repository: %v", systemDir, f, err)
		}
	}
	return head, repo
}

func waitFor(t *testing.T, what string, cond func() error) {
	t.Helper()
	testcluster.Eventually(t, 90*time.Second, 250*time.Millisecond, func() error {
		if err := cond(); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		return nil
	})
}

func TestBootstrapGit_HTTPBasicAuth(t *testing.T) {
	ns := "boot-http"
	leaveToNextTest(t, ns)
	srv := gitserver.NewHTTP(t, gitserver.WithBasicAuth("git", "s3cret"))
	repo := gitserver.InitRepo(t, srv.Root(), "fleet", map[string]string{"README.md": "fleet\n"})
	t.Setenv("TETHER_PASSWORD", "s3cret")
	dir := t.TempDir()
	gpgKey := gitserver.NewGPGKey(t)
	ringFile := filepath.Join(dir, "signing.asc")
	writeFile(t, ringFile, armoredPrivateKey(t, gpgKey))
	extraFile := filepath.Join(dir, "settings.yaml")
	writeFile(t, extraFile, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra-settings\n  namespace: "+ns+"\ndata:\n  level: info\n"))
	args := append([]string{"bootstrap", "git", "--url", srv.URL("fleet"), "--username", "git",
		"--gpg-key-ring", ringFile, "--components-extra", extraFile}, common(ns)...)

	mustSucceed(t, harness.Tether(t, cluster, args...))
	head, src := assertSynced(t, ns, repo.Bare)
	assertSignedBy(t, repo.Bare, head, gpgKey)
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "extra-settings"}, &corev1.ConfigMap{}); err != nil {
		t.Errorf("the --components-extra ConfigMap is not installed: %v", err)
	}
	if _, err := gitserver.RunGit(repo.Bare, "cat-file", "-e", "main:"+systemDir+"/settings.yaml"); err != nil {
		t.Errorf("the --components-extra file is not in Git: %v", err)
	}
	if src.Spec.URL != srv.URL("fleet") || src.Spec.SecretRef == nil || src.Spec.SecretRef.Name != "tether-system" {
		t.Errorf("GitRepository spec: %+v", src.Spec)
	}
	secret := getSecret(t, ns, "tether-system")
	if string(secret.Data["username"]) != "git" || string(secret.Data["password"]) != "s3cret" {
		t.Errorf("Secret keys: %v", keys(secret.Data))
	}
	var d appsv1.Deployment
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: manifestgen.DeploymentName}, &d); err != nil {
		t.Fatalf("reconciler Deployment not installed: %v", err)
	}

	t.Run("re-running with the same flags changes nothing", func(t *testing.T) {
		res := harness.Tether(t, cluster, args...)
		mustSucceed(t, res)
		if got := gitserver.Git(t, repo.Bare, "rev-parse", "main"); got != head {
			t.Errorf("a re-run committed: head %s -> %s", head, got)
		}
		if !strings.Contains(res.Stderr, "up to date") {
			t.Errorf("stderr does not say the manifests are up to date")
		}
		if again := getSecret(t, ns, "tether-system"); again.ResourceVersion != secret.ResourceVersion {
			t.Errorf("the Secret changed on a re-run")
		}
	})

	t.Run("a commit to components.yaml changes the installation", func(t *testing.T) {
		gitserver.Git(t, repo.Work, "pull", "-q", "origin", "main")
		data, err := os.ReadFile(filepath.Join(repo.Work, systemDir, "components.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		components := string(data)
		if n := strings.Count(components, "--log-level=info"); n != 1 {
			t.Fatalf("components.yaml has %d --log-level=info args, want 1", n)
		}
		components = strings.Replace(components, "--log-level=info", "--log-level=debug", 1)
		cm := "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: managed-from-git\n  namespace: " + ns + "\ndata:\n  a: b\n"
		repo.Commit(t, map[string]string{systemDir + "/components.yaml": components + cm}, "debug logs, and a ConfigMap")
		waitFor(t, "the reconciler Deployment to log at debug level", func() error {
			args := reconcilerArgs(t, ns)
			if !slices.Contains(args, "--log-level=debug") {
				return errorf("args %v", args)
			}
			return nil
		})
		if args := reconcilerArgs(t, ns); slices.Contains(args, "--log-level=info") {
			t.Errorf("the old --log-level is still there: %v", args)
		}
		waitFor(t, "ConfigMap applied from Git", func() error {
			return cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "managed-from-git"}, &corev1.ConfigMap{})
		})
	})

	t.Run("a new version upgrades through Git", func(t *testing.T) {
		before := gitserver.Git(t, repo.Bare, "rev-parse", "main")
		states := watchReconcilerDeployment(t, ns)
		res := harness.Tether(t, cluster, append(args, "--version", "v0.0.2-e2e")...)
		mustSucceed(t, res)
		after, _ := assertSynced(t, ns, repo.Bare)
		if after == before {
			t.Fatal("a new version did not commit")
		}
		assertSignedBy(t, repo.Bare, after, gpgKey)
		msg := gitserver.Git(t, repo.Bare, "log", "-1", "--format=%an <%ae> %s", "main")
		if !strings.Contains(msg, "Bootstrap Test <bootstrap@tether.invalid>") || !strings.Contains(msg, "v0.0.2-e2e") {
			t.Errorf("commit: %s", msg)
		}
		var d appsv1.Deployment
		if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: manifestgen.DeploymentName}, &d); err != nil {
			t.Fatal(err)
		}
		if v := d.Labels[manifestgen.VersionLabel]; v != "v0.0.2-e2e" {
			t.Errorf("Deployment version label = %q", v)
		}
		// The CLI and the reconciler share a field manager, so managedFields
		// cannot tell who wrote the new version; the Kustomization's owner
		// labels can: the reconciler adds them to what it applies, the CLI
		// does not. Every state of the Deployment at the new version must
		// carry them, from the first one on.
		if strings.Contains(res.Stderr, "installing components") {
			t.Errorf("the CLI installed the components itself:\n%s", res.Stderr)
		}
		for _, d := range states.until(t, func(d *appsv1.Deployment) bool { return d.Labels[manifestgen.VersionLabel] == "v0.0.2-e2e" }) {
			if d.Labels[manifestgen.VersionLabel] == "v0.0.2-e2e" && d.Labels[kustomizev1.NameLabel] != syncName {
				t.Fatalf("the new version was applied by the CLI, not by the Kustomization (resourceVersion %s, labels %v)",
					d.ResourceVersion, d.Labels)
			}
		}
		if args := reconcilerArgs(t, ns); !slices.Contains(args, "--log-level=info") {
			t.Errorf("bootstrap rewrote components.yaml but the Deployment args are %v", args)
		}
		// Bootstrap rewrote components.yaml, so the ConfigMap added by hand is pruned.
		waitFor(t, "ConfigMap pruned", func() error {
			err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "managed-from-git"}, &corev1.ConfigMap{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return errorf("ConfigMap still there (%v)", err)
		})
	})
}

func TestBootstrapGit_SSHWithPrivateKey(t *testing.T) {
	ns := "boot-ssh"
	leaveToNextTest(t, ns)
	root := t.TempDir()
	srv := gitserver.NewSSH(t, root)
	repo := gitserver.InitRepo(t, root, "fleet", map[string]string{"README.md": "fleet\n"})
	priv, pub := gitserver.NewClientKey(t)
	srv.AuthorizedKey(pub)
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"bootstrap", "git", "--url", srv.URL("fleet"), "--private-key-file", keyFile}, common(ns)...)

	mustSucceed(t, harness.Tether(t, cluster, args...))
	head, src := assertSynced(t, ns, repo.Bare)
	if src.Spec.URL != srv.URL("fleet") {
		t.Errorf("GitRepository url = %s", src.Spec.URL)
	}
	secret := getSecret(t, ns, "tether-system")
	if string(secret.Data["identity"]) != string(priv) || string(secret.Data["known_hosts"]) != string(srv.KnownHosts()) {
		t.Errorf("Secret identity/known_hosts do not match the key and the server; keys %v", keys(secret.Data))
	}

	mustSucceed(t, harness.Tether(t, cluster, args...))
	if got := gitserver.Git(t, repo.Bare, "rev-parse", "main"); got != head {
		t.Errorf("a re-run committed: head %s -> %s", head, got)
	}
	if again := getSecret(t, ns, "tether-system"); again.ResourceVersion != secret.ResourceVersion {
		t.Errorf("the Secret changed on a re-run")
	}
}

func TestBootstrapGit_SSHGeneratedKeyIsKeptAndReused(t *testing.T) {
	ns := "boot-ssh-gen"
	leaveToNextTest(t, ns)
	root := t.TempDir()
	srv := gitserver.NewSSH(t, root)
	repo := gitserver.InitRepo(t, root, "fleet", map[string]string{"README.md": "fleet\n"})
	args := append([]string{"bootstrap", "git", "--url", srv.URL("fleet"), "--silent"}, common(ns)...)

	res := harness.Tether(t, cluster, args...)
	if res.ExitCode == 0 {
		t.Fatal("bootstrap succeeded with a key the server does not know")
	}
	if !strings.Contains(res.Stdout, "deploy key: ssh-ed25519 ") {
		t.Errorf("the public key is not printed:\n%s", res.Stdout)
	}
	if fp := gossh.FingerprintSHA256(srv.HostKey()); !strings.Contains(res.Stderr, fp) {
		t.Errorf("the scanned host key's fingerprint %s is not printed:\n%s", fp, res.Stderr)
	}
	secret := getSecret(t, ns, "tether-system")
	pub := strings.TrimSpace(string(secret.Data["identity.pub"]))
	if !strings.Contains(res.Stdout, pub) {
		t.Errorf("the printed key is not the stored one")
	}
	key, _, _, _, err := parseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	srv.AuthorizedKey(key)

	res = harness.Tether(t, cluster, args...)
	mustSucceed(t, res)
	if !strings.Contains(res.Stderr, "reusing the deploy key") {
		t.Errorf("the key was not reused")
	}
	assertSynced(t, ns, repo.Bare)
	if again := getSecret(t, ns, "tether-system"); string(again.Data["identity"]) != string(secret.Data["identity"]) {
		t.Error("the deploy key changed")
	}
}

func TestBootstrapGitHub_CreatesRepositoryWithTeamAndDeployKey(t *testing.T) {
	ns := "boot-gh"
	leaveToNextTest(t, ns)
	const token = "ghp_standin_token_0123456789"
	gh := newGitHub(t, token, "octo", []string{"acme"}, []string{"acme/platform"})
	t.Setenv("GITHUB_TOKEN", token)
	args := append([]string{"bootstrap", "github", "--hostname", gh.URL(), "--owner", "acme", "--repository", "fleet",
		"--team", "platform:maintain"}, common(ns)...)

	res := harness.Tether(t, cluster, args...)
	mustSucceed(t, res)
	if strings.Contains(res.Stdout+res.Stderr, token) {
		t.Error("the token was printed")
	}
	r := gh.repo("acme/fleet")
	if r == nil {
		t.Fatal("the repository was not created")
	}
	if !r.Private || r.OwnerType != "Organization" {
		t.Errorf("repository private=%v owner type=%s", r.Private, r.OwnerType)
	}
	if r.Teams["platform"] != "maintain" {
		t.Errorf("teams: %v", r.Teams)
	}
	if len(r.Keys) != 1 || !r.Keys[0].ReadOnly {
		t.Fatalf("deploy keys: %+v", r.Keys)
	}
	head, src := assertSynced(t, ns, gh.bare("acme", "fleet"))
	if edits := gh.repoEdits(); len(edits) != 0 {
		t.Errorf("the repository was edited although main is its default branch: %v", edits)
	}
	if !strings.HasPrefix(src.Spec.URL, "ssh://") {
		t.Errorf("the cluster does not pull over SSH: %s", src.Spec.URL)
	}
	secret := getSecret(t, ns, "tether-system")
	if strings.TrimSpace(string(secret.Data["identity.pub"])) != r.Keys[0].Key {
		t.Error("the registered deploy key is not the one in the Secret")
	}
	if _, ok := secret.Data["password"]; ok {
		t.Error("the token is stored although the cluster uses a deploy key")
	}

	t.Run("re-running creates no repository, key or commit", func(t *testing.T) {
		mustSucceed(t, harness.Tether(t, cluster, args...))
		if n := gh.creations(); n != 1 {
			t.Errorf("%d repository creations", n)
		}
		if r := gh.repo("acme/fleet"); len(r.Keys) != 1 {
			t.Errorf("deploy keys: %+v", r.Keys)
		}
		if got := gitserver.Git(t, gh.bare("acme", "fleet"), "rev-parse", "main"); got != head {
			t.Errorf("a re-run committed: %s -> %s", head, got)
		}
		if again := getSecret(t, ns, "tether-system"); again.ResourceVersion != secret.ResourceVersion {
			t.Errorf("the Secret changed on a re-run")
		}
	})

	t.Run("a new version commits and reconciles without a new key", func(t *testing.T) {
		mustSucceed(t, harness.Tether(t, cluster, append(args, "--version", "v0.0.3-e2e")...))
		after, _ := assertSynced(t, ns, gh.bare("acme", "fleet"))
		if after == head {
			t.Fatal("a new version did not commit")
		}
		if r := gh.repo("acme/fleet"); len(r.Keys) != 1 || gh.creations() != 1 {
			t.Errorf("deploy keys %d, creations %d", len(r.Keys), gh.creations())
		}
	})
}

func TestBootstrapGitHub_TokenAuthForAPersonalRepository(t *testing.T) {
	ns := "boot-gh-token"
	leaveToNextTest(t, ns)
	const token = "ghp_personal_token_abcdef"
	gh := newGitHub(t, token, "octo", nil, nil)
	t.Setenv("GITHUB_TOKEN", token)
	args := append([]string{"bootstrap", "github", "--hostname", gh.URL(), "--owner", "octo", "--personal",
		"--repository", "fleet", "--token-auth", "--branch", "prod"}, common(ns)...)

	mustSucceed(t, harness.Tether(t, cluster, args...))
	r := gh.repo("octo/fleet")
	if r == nil || r.OwnerType != "User" || len(r.Keys) != 0 {
		t.Fatalf("repository: %+v", r)
	}
	_, src := assertSyncedAt(t, ns, gh.bare("octo", "fleet"), "prod")
	// GitHub created the repository with its own default branch (main); the
	// first push does not change it, bootstrap does.
	if def := gitserver.Git(t, gh.bare("octo", "fleet"), "symbolic-ref", "--short", "HEAD"); def != "prod" {
		t.Errorf("default branch = %s, want prod (edits %v)", def, gh.repoEdits())
	}
	if edits := gh.repoEdits(); !slices.Equal(edits, []string{"default_branch=prod"}) {
		t.Errorf("repository edits: %v", edits)
	}
	if src.Spec.URL != gh.URL()+"/octo/fleet.git" {
		t.Errorf("GitRepository url = %s", src.Spec.URL)
	}
	secret := getSecret(t, ns, "tether-system")
	if string(secret.Data["password"]) != token || len(secret.Data["identity"]) != 0 {
		t.Errorf("Secret keys: %v", keys(secret.Data))
	}
}

func TestBootstrapGitHub_BadTokenCreatesNothing(t *testing.T) {
	ns := "boot-gh-bad"
	gh := newGitHub(t, "the-right-token", "octo", []string{"acme"}, nil)
	t.Setenv("GITHUB_TOKEN", "a-wrong-token")
	res := harness.Tether(t, cluster, append([]string{"bootstrap", "github", "--hostname", gh.URL(), "--owner", "acme",
		"--repository", "fleet"}, common(ns)...)...)
	if res.ExitCode != 1 {
		t.Fatalf("exit %d, want 1", res.ExitCode)
	}
	if !strings.Contains(res.Stderr, "401") || !strings.Contains(res.Stderr, "GITHUB_TOKEN") {
		t.Errorf("the error does not say the token was rejected:\n%s", res.Stderr)
	}
	if strings.Contains(res.Stdout+res.Stderr, "a-wrong-token") {
		t.Error("the token was printed")
	}
	if gh.creations() != 0 || gh.repo("acme/fleet") != nil {
		t.Error("a repository was created")
	}
	err := cluster.Client.Get(context.Background(), client.ObjectKey{Name: ns}, &corev1.Namespace{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("the cluster was changed: namespace %s: %v", ns, err)
	}
}

func TestBootstrapGitHub_TokenWithoutScopesCreatesNothing(t *testing.T) {
	ns := "boot-gh-scopes"
	gh := newGitHub(t, "the-full-token", "octo", []string{"acme"}, nil)
	gh.readToken = "ghp_read_only_token"
	t.Setenv("GITHUB_TOKEN", gh.readToken)
	res := harness.Tether(t, cluster, append([]string{"bootstrap", "github", "--hostname", gh.URL(), "--owner", "acme",
		"--repository", "fleet"}, common(ns)...)...)
	if res.ExitCode != 1 {
		t.Fatalf("exit %d, want 1\nstderr:\n%s", res.ExitCode, res.Stderr)
	}
	for _, want := range []string{"creating repository acme/fleet", "403", "Resource not accessible by personal access token", "repo scope"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("the error does not say %q:\n%s", want, res.Stderr)
		}
	}
	if strings.Contains(res.Stdout+res.Stderr, gh.readToken) {
		t.Error("the token was printed")
	}
	if gh.creations() != 0 || gh.repo("acme/fleet") != nil {
		t.Error("a repository was created")
	}
	err := cluster.Client.Get(context.Background(), client.ObjectKey{Name: ns}, &corev1.Namespace{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("the cluster was changed: namespace %s: %v", ns, err)
	}
}

func TestBootstrapGitHub_RefusesANonEmptyRepositoryThatIsNotOurs(t *testing.T) {
	ns := "boot-gh-foreign"
	const token = "ghp_foreign_token"
	gh := newGitHub(t, token, "octo", []string{"acme"}, nil)
	gh.importRepo(t, "acme", "legacy", map[string]string{"README.md": "someone else's\n"})
	head := gitserver.Git(t, gh.bare("acme", "legacy"), "rev-parse", "main")
	t.Setenv("GITHUB_TOKEN", token)
	res := harness.Tether(t, cluster, append([]string{"bootstrap", "github", "--hostname", gh.URL(), "--owner", "acme",
		"--repository", "legacy"}, common(ns)...)...)
	if res.ExitCode != 1 {
		t.Fatalf("exit %d, want 1", res.ExitCode)
	}
	// The stand-in, like GitHub shortly after a push, reports size 0: the
	// refusal must come from the Git server's refs.
	if !strings.Contains(res.Stderr, "--force") || !strings.Contains(res.Stderr, "not empty") {
		t.Errorf("the error does not explain the refusal:\n%s", res.Stderr)
	}
	if edits := gh.repoEdits(); len(edits) != 0 {
		t.Errorf("the repository was edited: %v", edits)
	}
	if got := gitserver.Git(t, gh.bare("acme", "legacy"), "rev-parse", "main"); got != head {
		t.Error("the repository was written to")
	}
	if r := gh.repo("acme/legacy"); len(r.Keys) != 0 {
		t.Error("a deploy key was registered")
	}
}

// reconcilerArgs returns the args of the running reconciler Deployment.
func reconcilerArgs(t *testing.T, ns string) []string {
	t.Helper()
	var d appsv1.Deployment
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: manifestgen.DeploymentName}, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Spec.Template.Spec.Containers) == 0 {
		t.Fatal("the reconciler Deployment has no container")
	}
	return d.Spec.Template.Spec.Containers[0].Args
}

// deploymentStates records every state of the reconciler Deployment that a
// watch sees, in order.
type deploymentStates struct {
	mu     sync.Mutex
	states []*appsv1.Deployment
}

func watchReconcilerDeployment(t *testing.T, ns string) *deploymentStates {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w, err := cs.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{
		FieldSelector: "metadata.name=" + manifestgen.DeploymentName})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	s := &deploymentStates{}
	go func() {
		for ev := range w.ResultChan() {
			if d, ok := ev.Object.(*appsv1.Deployment); ok {
				s.mu.Lock()
				s.states = append(s.states, d)
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// until waits for a state that matches and returns the states seen so far.
func (s *deploymentStates) until(t *testing.T, match func(*appsv1.Deployment) bool) []*appsv1.Deployment {
	t.Helper()
	var seen []*appsv1.Deployment
	waitFor(t, "the watch to see the Deployment change", func() error {
		s.mu.Lock()
		seen = slices.Clone(s.states)
		s.mu.Unlock()
		if slices.ContainsFunc(seen, match) {
			return nil
		}
		return errorf("%d states seen, none matches", len(seen))
	})
	return seen
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func armoredPrivateKey(t *testing.T, key *gitserver.GPGKey) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := key.Entity.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// assertSignedBy checks the OpenPGP signature of a commit in a bare repository.
func assertSignedBy(t *testing.T, bare, hash string, key *gitserver.GPGKey) {
	t.Helper()
	r, err := gogit.PlainOpen(bare)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.CommitObject(plumbing.NewHash(hash))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Verify(key.PublicKey); err != nil {
		t.Errorf("commit %s is not signed by the --gpg-key-ring key: %v", hash, err)
	}
}
