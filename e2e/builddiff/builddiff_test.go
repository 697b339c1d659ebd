// Package builddiff drives `tether build kustomization` and `tether diff
// kustomization` against a real control plane where the reconciler has
// applied a Kustomization from a real git server.
package builddiff

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

var (
	cluster    *testcluster.Cluster
	reconciler *harness.Reconciler
)

func TestMain(m *testing.M) { harness.Main(m, &cluster, &reconciler) }

const (
	settings = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  replicas: \"${REPLICAS}\"\n  colour: blue\n"
	gone     = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gone\ndata:\n  a: \"1\"\n"
	token    = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\nstringData:\n  token: s3cr3t-value\n"
)

func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// applied sets up a Kustomization that the reconciler has applied: its
// objects and inventory are in the cluster.
func applied(t *testing.T) (ns string) {
	t.Helper()
	ns = testcluster.NewNamespace(t, cluster)
	ctx := context.Background()
	if err := cluster.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vars"},
		Data: map[string]string{"REPLICAS": "3"}}); err != nil {
		t.Fatal(err)
	}
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", map[string]string{"app/settings.yaml": settings, "app/gone.yaml": gone, "app/token.yaml": token})
	harness.Create(t, cluster, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: sourcev1.GitRepositorySpec{URL: srv.URL("app"), Interval: &metav1.Duration{Duration: time.Minute}}})
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: kustomizev1.KustomizationSpec{
			SourceRef: meta.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "app"},
			Path:      "./app", Prune: true, TargetNamespace: ns,
			Interval:  &metav1.Duration{Duration: time.Hour},
			PostBuild: &kustomizev1.PostBuild{SubstituteFrom: []kustomizev1.SubstituteReference{{Kind: "ConfigMap", Name: "vars"}}},
		}}
	harness.Create(t, cluster, ks)
	got := harness.WaitFor(t, cluster, ks, "applied revision", func(k *kustomizev1.Kustomization) bool {
		return meta.IsReady(k) && k.Status.LastAppliedRevision == "main@sha1:"+repo.Head(t)
	})
	if got.Status.Inventory == nil || len(got.Status.Inventory.Entries) != 3 {
		t.Fatalf("inventory = %+v", got.Status.Inventory)
	}
	return ns
}

func TestBuild_RendersAsTheReconcilerWould_SecretsMasked(t *testing.T) {
	ns := applied(t)
	dir := writeDir(t, map[string]string{"settings.yaml": settings, "token.yaml": token})

	res := harness.Tether(t, cluster, "build", "kustomization", "app", "-n", ns, "--path", dir)
	if res.ExitCode != 0 {
		t.Fatalf("build exited %d: %s", res.ExitCode, res.Stderr)
	}
	for _, want := range []string{
		"namespace: " + ns,              // targetNamespace
		`replicas: "3"`,                 // substituted from the cluster's ConfigMap
		kustomizev1.NameLabel + ": app", // the reconciler's owner labels
		"token: '***'",
	} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("build output lacks %q:\n%s", want, res.Stdout)
		}
	}
	if strings.Contains(res.Stdout, "s3cr3t-value") {
		t.Errorf("build printed a secret value:\n%s", res.Stdout)
	}

	// The same spec from a file, without the cluster.
	ksFile := filepath.Join(t.TempDir(), "ks.yaml")
	spec := "apiVersion: kustomize.tether.dev/v1\nkind: Kustomization\nmetadata:\n  name: app\nspec:\n  prune: true\n  targetNamespace: offline\n" +
		"  sourceRef: {kind: GitRepository, name: app}\n  postBuild:\n    substitute: {REPLICAS: \"5\"}\n"
	if err := os.WriteFile(ksFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	res = harness.Tether(t, nil, "build", "ks", "app", "--path", dir, "--kustomization-file", ksFile, "--dry-run", "--kubeconfig", "/nonexistent")
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "namespace: offline") || !strings.Contains(res.Stdout, `replicas: "5"`) {
		t.Errorf("offline build exited %d:\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
}

func TestDiff_ExitCodesAndChanges_WritesNothing(t *testing.T) {
	ns := applied(t)

	same := writeDir(t, map[string]string{"settings.yaml": settings, "gone.yaml": gone, "token.yaml": token})
	res := harness.Tether(t, cluster, "diff", "kustomization", "app", "-n", ns, "--path", same)
	if res.ExitCode != 0 || strings.TrimSpace(res.Stdout) != "" {
		t.Fatalf("diff of the applied state exited %d, want 0 and no output:\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}

	changed := writeDir(t, map[string]string{
		"settings.yaml": strings.Replace(settings, "colour: blue", "colour: green", 1),
		"token.yaml":    strings.Replace(token, "s3cr3t-value", "n3w-s3cr3t", 1),
		"new.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: new\n",
	})
	res = harness.Tether(t, cluster, "diff", "kustomization", "app", "-n", ns, "--path", changed)
	if res.ExitCode != 1 {
		t.Fatalf("diff with changes exited %d, want 1:\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	all := res.Stdout + res.Stderr
	for _, want := range []string{
		"ConfigMap/" + ns + "/settings drifted", "-  colour: blue", "+  colour: green",
		"ConfigMap/" + ns + "/new created",
		"ConfigMap/" + ns + "/gone deleted",
		"Secret/" + ns + "/token drifted", "*** (changed)",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("diff output lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "s3cr3t") {
		t.Errorf("diff printed a secret value:\n%s", all)
	}
	var cm corev1.ConfigMap
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "settings"}, &cm); err != nil || cm.Data["colour"] != "blue" {
		t.Errorf("diff changed the cluster: %v %v", cm.Data, err)
	}
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "new"}, &corev1.ConfigMap{}); err == nil {
		t.Error("diff created an object")
	}

	broken := writeDir(t, map[string]string{"settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [\n"})
	res = harness.Tether(t, cluster, "diff", "kustomization", "app", "-n", ns, "--path", broken)
	if res.ExitCode != 2 || !strings.Contains(res.Stderr, "settings.yaml") {
		t.Errorf("diff of a broken directory exited %d, want 2 with the file named:\n%s", res.ExitCode, res.Stderr)
	}
}

func TestBuildAndDiff_WithoutPath_UseTheSourcesArtifact(t *testing.T) {
	ns := applied(t)

	res := harness.Tether(t, cluster, "build", "kustomization", "app", "-n", ns)
	if res.ExitCode != 0 {
		t.Fatalf("build exited %d: %s", res.ExitCode, res.Stderr)
	}
	for _, want := range []string{
		"name: gone", "name: settings", "name: token", // every file of ./app in the artifact
		"namespace: " + ns, `replicas: "3"`, "token: '***'",
	} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("build output lacks %q:\n%s", want, res.Stdout)
		}
	}
	if strings.Contains(res.Stdout, "s3cr3t-value") {
		t.Errorf("build printed a secret value:\n%s", res.Stdout)
	}

	// The cluster holds what the artifact renders: no diff; a hand edit is one.
	res = harness.Tether(t, cluster, "diff", "kustomization", "app", "-n", ns)
	if res.ExitCode != 0 || strings.TrimSpace(res.Stdout) != "" {
		t.Fatalf("diff against the applied artifact exited %d, want 0 and no output:\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	ctx := context.Background()
	var cm corev1.ConfigMap
	if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "settings"}, &cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["colour"] = "red"
	if err := cluster.Client.Update(ctx, &cm); err != nil {
		t.Fatal(err)
	}
	res = harness.Tether(t, cluster, "diff", "kustomization", "app", "-n", ns)
	if res.ExitCode != 1 || !strings.Contains(res.Stdout+res.Stderr, "ConfigMap/"+ns+"/settings drifted") ||
		!strings.Contains(res.Stdout, "-  colour: red") || !strings.Contains(res.Stdout, "+  colour: blue") {
		t.Errorf("diff after a hand edit exited %d, want 1 and the drift:\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}

	// A source without an artifact: a clear error, exit 2 for diff.
	harness.Create(t, cluster, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unready"},
		Spec: sourcev1.GitRepositorySpec{URL: "http://127.0.0.1:1/nothing.git", Interval: &metav1.Duration{Duration: time.Hour}}})
	harness.Create(t, cluster, &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unready"},
		Spec: kustomizev1.KustomizationSpec{SourceRef: meta.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "unready"},
			Path: "./", Interval: &metav1.Duration{Duration: time.Hour}, Suspend: true}})
	res = harness.Tether(t, cluster, "build", "kustomization", "unready", "-n", ns)
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "GitRepository "+ns+"/unready has no artifact yet") || !strings.Contains(res.Stderr, "--path") {
		t.Errorf("build of a source without an artifact exited %d:\n%s", res.ExitCode, res.Stderr)
	}
}
