package clicreate

import (
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/testcluster"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

func configMap(name, value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  value: " + value + "\n"
}

// appFixture is a namespace, created by tether, with a GitRepository "app"
// and a Kustomization "app" applying ./deploy of it.
type appFixture struct {
	ns       string
	repo     *gitserver.Repo
	revision string
}

func newAppFixture(t *testing.T) *appFixture {
	t.Helper()
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", map[string]string{
		"deploy/greeting.yaml": configMap("greeting", "hello"),
		"deploy/farewell.yaml": configMap("farewell", "bye"),
	})
	f := &appFixture{ns: ns, repo: repo, revision: "main@sha1:" + repo.Head(t)}
	res := tether(t, 0, "create", "source", "git", "app", "-n", ns, "--url", srv.URL("app"), "--branch", "main", "--interval", "1h")
	mustContain(t, "create source git stderr", res.Stderr, "fetched revision "+f.revision)
	res = tether(t, 0, "create", "kustomization", "app", "-n", ns, "--source", "GitRepository/app", "--path", "./deploy", "--prune", "--target-namespace", ns, "--interval", "1h")
	mustContain(t, "create kustomization stderr", res.Stderr, "applied revision "+f.revision)
	reconciler.LogOnFailure(t)
	return f
}

func TestCreate_SourceAndKustomizationBecomeReadyAndApply(t *testing.T) {
	t.Parallel()
	f := newAppFixture(t)
	for _, name := range []string{"greeting", "farewell"} {
		var cm corev1.ConfigMap
		if err := cluster.Client.Get(t.Context(), client.ObjectKey{Namespace: f.ns, Name: name}, &cm); err != nil {
			t.Errorf("ConfigMap %s not applied: %v", name, err)
		}
	}
	var ks kustomizev1.Kustomization
	if err := cluster.Client.Get(t.Context(), client.ObjectKey{Namespace: f.ns, Name: "app"}, &ks); err != nil {
		t.Fatal(err)
	}
	managed := false
	for _, mf := range ks.ManagedFields {
		managed = managed || mf.Manager == "tether-cli"
	}
	if !managed {
		t.Errorf("the Kustomization has no fields managed by tether-cli: %+v", ks.ManagedFields)
	}

	// Creating again updates in place; --wait=false returns without waiting.
	res := tether(t, 0, "create", "source", "git", "app", "-n", f.ns, "--url", "http://127.0.0.1:1/app", "--branch", "main", "--wait=false")
	mustContain(t, "stderr", res.Stderr, "GitRepository "+f.ns+"/app applied")
	var src sourcev1.GitRepository
	if err := cluster.Client.Get(t.Context(), client.ObjectKey{Namespace: f.ns, Name: "app"}, &src); err != nil || src.Spec.URL != "http://127.0.0.1:1/app" {
		t.Errorf("source after update: %v %v", src.Spec.URL, err)
	}
}

func TestCreateSecretGit_BasicAuthIsUsedBySource(t *testing.T) {
	t.Parallel()
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t, gitserver.WithBasicAuth("bot", "s3cret"))
	repo := gitserver.InitRepo(t, srv.Root(), "private", map[string]string{"a.yaml": configMap("a", "1")})
	reconciler.LogOnFailure(t)

	tether(t, 0, "create", "secret", "git", "private-auth", "-n", ns, "--url", srv.URL("private"), "--username", "bot", "--password", "s3cret")
	var s corev1.Secret
	if err := cluster.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "private-auth"}, &s); err != nil {
		t.Fatal(err)
	}
	if string(s.Data["username"]) != "bot" || string(s.Data["password"]) != "s3cret" {
		t.Errorf("secret keys = %v", keys(s.Data))
	}
	res := tether(t, 0, "create", "source", "git", "private", "-n", ns, "--url", srv.URL("private"), "--branch", "main", "--secret-ref", "private-auth", "--timeout", "2m")
	mustContain(t, "stderr", res.Stderr, "fetched revision main@sha1:"+repo.Head(t))
}

func TestCreateSecretGit_SSHKeyPairAndScannedKnownHosts(t *testing.T) {
	t.Parallel()
	ns := testcluster.NewNamespace(t, cluster)
	httpSrv := gitserver.NewHTTP(t) // only for its directory of repositories
	repo := gitserver.InitRepo(t, httpSrv.Root(), "app", map[string]string{"a.yaml": configMap("a", "1")})
	srv := gitserver.NewSSH(t, httpSrv.Root())
	reconciler.LogOnFailure(t)

	res := tether(t, 0, "create", "secret", "git", "app-ssh", "-n", ns, "--url", srv.URL("app"))
	mustContain(t, "stderr", res.Stderr, "ssh-ed25519 "+gossh.FingerprintSHA256(srv.HostKey()))
	pub, _, _, _, err := gossh.ParseAuthorizedKey([]byte(strings.TrimSpace(res.Stdout)))
	if err != nil {
		t.Fatalf("stdout is not a public key: %v\n%s", err, res.Stdout)
	}
	var s corev1.Secret
	if err := cluster.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "app-ssh"}, &s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(s.Data["known_hosts"]), strings.TrimSpace(string(gossh.MarshalAuthorizedKey(srv.HostKey())))) {
		t.Errorf("known_hosts %q lacks the server's host key", s.Data["known_hosts"])
	}

	srv.AuthorizedKey(pub)
	res = tether(t, 0, "create", "source", "git", "app", "-n", ns, "--url", srv.URL("app"), "--branch", "main", "--secret-ref", "app-ssh", "--timeout", "2m")
	mustContain(t, "stderr", res.Stderr, "fetched revision main@sha1:"+repo.Head(t))
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestCreateKustomization_CompletesSourceWithLiveNames(t *testing.T) {
	t.Parallel()
	f := newAppFixture(t)
	res := tether(t, 0, "__complete", "create", "kustomization", "next", "-n", f.ns, "--source", "")
	mustContain(t, "completion of --source", res.Stdout, "GitRepository/app\n")
	res = tether(t, 0, "__complete", "events", "-n", f.ns, "--for", "Kus")
	mustContain(t, "completion of --for", res.Stdout, "Kustomization/app\n")
}
