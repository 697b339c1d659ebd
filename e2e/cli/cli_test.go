package cli

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
)

func TestGetSources_ShowsReadyObjectsWithRevisionAndFiltersByStatus(t *testing.T) {
	t.Parallel()
	f := newGitFixture(t, map[string]string{"a.yaml": "a: 1\n"})
	broken := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "broken"},
		Spec:       sourcev1.GitRepositorySpec{URL: "http://127.0.0.1:1/nothing-listens-here", Interval: &metav1.Duration{Duration: time.Hour}},
	}
	harness.Create(t, cluster, broken)
	harness.WaitFor(t, cluster, broken, "Ready=False", func(o *sourcev1.GitRepository) bool { return meta.IsFalse(o, meta.ReadyCondition) })

	res := tether(t, 0, "get", "sources", "git", "-n", f.ns)
	if fields := row(t, res.Stdout, "app"); fields[1] != f.revision(t) || fields[2] != "False" || fields[3] != "True" {
		t.Errorf("row of app = %v, want revision %s, not suspended, Ready", fields, f.revision(t))
	}
	mustContain(t, "header", strings.SplitN(res.Stdout, "\n", 2)[0], "NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE", "AGE")

	res = tether(t, 0, "get", "sources", "all", "-A")
	mustContain(t, "get sources all -A", res.Stdout, "NAMESPACE", f.ns, "gitrepository/app", "gitrepository/broken")

	res = tether(t, 0, "get", "sources", "git", "-n", f.ns, "--status-selector", "ready=false")
	mustContain(t, "ready=false", res.Stdout, "broken")
	mustNotContain(t, "ready=false", res.Stdout, "app ")

	res = tether(t, 0, "get", "sources", "git", "app", "-n", f.ns, "-o", "yaml")
	mustContain(t, "-o yaml", res.Stdout, "kind: GitRepository", "revision: "+f.revision(t))

	res = tether(t, 0, "get", "ks", "-n", f.ns)
	if res.Stdout != "" || !strings.Contains(res.Stderr, "No resources found in "+f.ns+" namespace.") {
		t.Errorf("empty list: stdout %q, stderr %q", res.Stdout, res.Stderr)
	}
	res = tether(t, 1, "get", "sources", "git", "nosuch", "-n", f.ns)
	mustContain(t, "stderr", res.Stderr, "GitRepository "+f.ns+"/nosuch not found")
}

func TestReconcileSourceGit_WaitsAndPrintsTheNewRevision(t *testing.T) {
	t.Parallel()
	f := newGitFixture(t, map[string]string{"a.yaml": "a: 1\n"})
	next := "main@sha1:" + f.repo.Commit(t, map[string]string{"a.yaml": "a: 2\n"}, "second")

	res := tether(t, 0, "reconcile", "source", "git", "app", "-n", f.ns)
	mustContain(t, "stderr", res.Stderr, "fetched revision "+next)
	if res.Stdout != "" {
		t.Errorf("progress on stdout: %q", res.Stdout)
	}
	got := harness.Get(t, cluster, f.src)
	if got.Status.Artifact == nil || got.Status.Artifact.Revision != next {
		t.Errorf("artifact = %+v, want revision %s", got.Status.Artifact, next)
	}
	if v, _ := meta.ReconcileAnnotationValue(got.Annotations); v == "" || got.Status.LastHandledReconcileAt != v {
		t.Errorf("request %q, handled %q", v, got.Status.LastHandledReconcileAt)
	}

	res = tether(t, 1, "reconcile", "source", "git", "nosuch", "-n", f.ns)
	mustContain(t, "stderr", res.Stderr, "not found")
	if strings.Count(strings.TrimSpace(res.Stderr), "\n") != 0 {
		t.Errorf("the error is not one line:\n%s", res.Stderr)
	}
	// --verbose adds the chain of causes with the API server's answer.
	res = tether(t, 1, "reconcile", "source", "git", "nosuch", "-n", f.ns, "--verbose")
	mustContain(t, "stderr", res.Stderr, "caused by:", "(*errors.StatusError)", "API status: 404 NotFound")
}

func TestReconcile_ExitsOneWithTheReadyMessageWhenNotReady(t *testing.T) {
	t.Parallel()
	ns := testcluster.NewNamespace(t, cluster)
	broken := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "broken"},
		Spec:       sourcev1.GitRepositorySpec{URL: "http://127.0.0.1:1/nothing-listens-here", Interval: &metav1.Duration{Duration: time.Hour}},
	}
	harness.Create(t, cluster, broken)
	harness.WaitFor(t, cluster, broken, "Ready=False", func(o *sourcev1.GitRepository) bool { return meta.IsFalse(o, meta.ReadyCondition) })
	res := tether(t, 1, "reconcile", "source", "git", "broken", "-n", ns, "--timeout", "1m")
	mustContain(t, "stderr", res.Stderr, "GitRepository "+ns+"/broken is not ready")
}

func TestSuspendResume_GetShowsSuspendedAndResumeFetchesWhatWasMissed(t *testing.T) {
	t.Parallel()
	f := newGitFixture(t, map[string]string{"a.yaml": "a: 1\n"})
	before := f.revision(t)

	res := tether(t, 0, "suspend", "source", "git", "app", "-n", f.ns)
	mustContain(t, "stderr", res.Stderr, "GitRepository "+f.ns+"/app suspended")
	if fields := row(t, tether(t, 0, "get", "sources", "git", "-n", f.ns).Stdout, "app"); fields[2] != "True" {
		t.Errorf("after suspend the row is %v, want SUSPENDED True", fields)
	}
	res = tether(t, 1, "reconcile", "source", "git", "app", "-n", f.ns)
	mustContain(t, "stderr", res.Stderr, "is suspended: run tether resume source git app")

	next := "main@sha1:" + f.repo.Commit(t, map[string]string{"a.yaml": "a: 2\n"}, "while suspended")
	if got := harness.Get(t, cluster, f.src); got.Status.Artifact.Revision != before {
		t.Fatalf("a suspended source moved to %s", got.Status.Artifact.Revision)
	}
	res = tether(t, 0, "resume", "source", "git", "app", "-n", f.ns)
	mustContain(t, "stderr", res.Stderr, "resumed", "fetched revision "+next)
	if fields := row(t, tether(t, 0, "get", "sources", "git", "-n", f.ns).Stdout, "app"); fields[1] != next || fields[2] != "False" {
		t.Errorf("after resume the row is %v", fields)
	}

	// --all takes every object of the namespace.
	tether(t, 0, "suspend", "source", "git", "--all", "-n", f.ns)
	if !harness.Get(t, cluster, f.src).Spec.Suspend {
		t.Error("suspend --all left app running")
	}
	tether(t, 0, "resume", "source", "git", "--all", "-n", f.ns, "--wait=false")
	if harness.Get(t, cluster, f.src).Spec.Suspend {
		t.Error("resume --all left app suspended")
	}
}

func TestExport_PrintsCleanYAMLThatApplies(t *testing.T) {
	t.Parallel()
	f := newGitFixture(t, map[string]string{"a.yaml": "a: 1\n"})
	tether(t, 0, "reconcile", "source", "git", "app", "-n", f.ns) // leaves a request annotation behind

	res := tether(t, 0, "export", "source", "git", "app", "-n", f.ns)
	out := res.Stdout
	mustContain(t, "export", out, "---\n", "apiVersion: source.tether.dev/v1", "kind: GitRepository", "name: app", "namespace: "+f.ns, "url: "+f.src.Spec.URL)
	mustNotContain(t, "export", out, "status:", "uid:", "resourceVersion:", "generation:", "creationTimestamp:", "managedFields", "finalizers", meta.ReconcileRequestAnnotation)

	// It applies as it is (server-side dry run), and under another name it
	// becomes a working source.
	file := filepath.Join(t.TempDir(), "app.yaml")
	if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "--dry-run=server", "-f", file)
	copyFile := filepath.Join(t.TempDir(), "copy.yaml")
	if err := os.WriteFile(copyFile, []byte(strings.Replace(out, "name: app\n", "name: app-copy\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-f", copyFile)
	harness.WaitForRevision(t, cluster, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "app-copy"}}, f.revision(t))

	res = tether(t, 0, "export", "source", "git", "--all", "-n", f.ns)
	if n := strings.Count(res.Stdout, "---\n"); n != 2 {
		t.Errorf("export --all printed %d documents, want 2:\n%s", n, res.Stdout)
	}
}

func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(cluster.BinDir, "kubectl"), append([]string{"--kubeconfig", cluster.KubeconfigPath}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestDelete_AsksOrNeedsSilentAndWaitsUntilGone(t *testing.T) {
	t.Parallel()
	f := newGitFixture(t, map[string]string{"a.yaml": "a: 1\n"})

	res := tether(t, 1, "delete", "source", "git", "app", "-n", f.ns)
	mustContain(t, "stderr", res.Stderr, "--silent")
	harness.Get(t, cluster, f.src) // still there

	res = tether(t, 0, "delete", "source", "git", "app", "-n", f.ns, "--silent")
	mustContain(t, "stderr", res.Stderr, "GitRepository "+f.ns+"/app deleted")
	err := cluster.Client.Get(context.Background(), client.ObjectKeyFromObject(f.src), &sourcev1.GitRepository{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("after delete: %v, want not found", err)
	}
}

func TestCompletion_ListsLiveNames(t *testing.T) {
	t.Parallel()
	f := newGitFixture(t, map[string]string{"a.yaml": "a: 1\n"})
	res := tether(t, 0, "__complete", "--kubeconfig", cluster.KubeconfigPath, "-n", f.ns, "reconcile", "source", "git", "")
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if len(lines) != 2 || lines[0] != "app" || lines[1] != ":4" {
		t.Errorf("completion = %q, want app and :4 (no file completion)", res.Stdout)
	}
	res = tether(t, 0, "__complete", "--kubeconfig", cluster.KubeconfigPath, "-n", f.ns, "suspend", "source", "git", "app", "")
	if strings.Contains(res.Stdout, "app\n") {
		t.Errorf("a name already given is offered again: %q", res.Stdout)
	}
}

func TestGetWatch_PrintsRowsAsObjectsChange(t *testing.T) {
	t.Parallel()
	f := newGitFixture(t, map[string]string{"a.yaml": "a: 1\n"})
	bins, err := harness.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), harness.WaitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bins, "tether"), "--kubeconfig", cluster.KubeconfigPath, "get", "sources", "git", "-n", f.ns, "--watch")
	cmd.Env = append(os.Environ(), "CI=true", "XDG_CONFIG_HOME="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })

	lines := bufio.NewScanner(stdout)
	var seen []string
	next := func() []string {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("watch ended after %q: %v", seen, lines.Err())
		}
		seen = append(seen, lines.Text())
		return strings.Fields(lines.Text())
	}
	if header := next(); header[0] != "NAME" {
		t.Fatalf("first line %v, want the header", header)
	}
	if first := next(); first[0] != "app" || first[2] != "False" {
		t.Fatalf("first row %v", first)
	}
	tether(t, 0, "suspend", "source", "git", "app", "-n", f.ns)
	for {
		if fields := next(); fields[0] == "app" && fields[2] == "True" {
			break
		}
	}
}
