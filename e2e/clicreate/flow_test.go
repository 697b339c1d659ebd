package clicreate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

// The GitOps loop driven by the CLI alone: create a source and a
// Kustomization, see it Ready, suspend it, edit an applied object by hand
// (kept while suspended), resume (the edit reverted).
//
// A second Kustomization, "witness", follows the same source: when it has
// applied a new commit, the suspended one has been offered that commit too,
// and would have reverted the edit had it not been suspended.
func TestCLI_CreateGetSuspendEditResume(t *testing.T) {
	t.Parallel()
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", map[string]string{
		"deploy/greeting.yaml": configMap("greeting", "hello"),
		"witness/witness.yaml": configMap("witness", "one"),
	})
	reconciler.LogOnFailure(t)
	first := "main@sha1:" + repo.Head(t)

	tether(t, 0, "create", "source", "git", "app", "-n", ns, "--url", srv.URL("app"), "--branch", "main", "--interval", "1h")
	for _, ks := range []string{"app", "witness"} {
		path := "./deploy"
		if ks == "witness" {
			path = "./witness"
		}
		res := tether(t, 0, "create", "kustomization", ks, "-n", ns, "--source", "GitRepository/app", "--path", path,
			"--prune", "--target-namespace", ns, "--interval", "1h")
		mustContain(t, "create kustomization "+ks, res.Stderr, "applied revision "+first)
	}

	// NAME REVISION SUSPENDED READY MESSAGE AGE
	get := tether(t, 0, "get", "kustomizations", "-n", ns).Stdout
	if f := fieldsOf(t, get, "app"); f[1] != first || f[2] != "False" || f[3] != "True" {
		t.Errorf("get kustomizations, row app: %v", f)
	}

	res := tether(t, 0, "suspend", "kustomization", "app", "-n", ns)
	mustContain(t, "suspend stderr", res.Stderr, "suspended")
	if f := fieldsOf(t, tether(t, 0, "get", "kustomizations", "-n", ns).Stdout, "app"); f[2] != "True" {
		t.Errorf("after suspend, row app: %v", f)
	}

	// What `kubectl edit` does: an update under its own field manager.
	greeting := &corev1.ConfigMap{}
	if err := cluster.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "greeting"}, greeting); err != nil {
		t.Fatal(err)
	}
	greeting.Data["value"] = "edited by hand"
	if err := cluster.Client.Update(t.Context(), greeting, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}

	// A new commit (deploy/ unchanged) reaches both Kustomizations.
	second := "main@sha1:" + repo.Commit(t, map[string]string{"witness/witness.yaml": configMap("witness", "two")}, "witness two")
	res = tether(t, 0, "reconcile", "source", "git", "app", "-n", ns)
	mustContain(t, "reconcile source stderr", res.Stderr, "fetched revision "+second)
	harness.WaitFor(t, cluster, &kustomizev1.Kustomization{ObjectMeta: objectMeta(ns, "witness")}, "the witness to apply "+second,
		func(ks *kustomizev1.Kustomization) bool { return ks.Status.LastAppliedRevision == second })
	if v := configValue(t, ns, "greeting"); v != "edited by hand" {
		t.Errorf("a suspended Kustomization reverted the hand edit: value %q", v)
	}
	if ks := harness.Get(t, cluster, &kustomizev1.Kustomization{ObjectMeta: objectMeta(ns, "app")}); ks.Status.LastAppliedRevision != first {
		t.Errorf("a suspended Kustomization applied %s", ks.Status.LastAppliedRevision)
	}

	res = tether(t, 0, "resume", "kustomization", "app", "-n", ns)
	mustContain(t, "resume stderr", res.Stderr, "applied revision "+second)
	if v := configValue(t, ns, "greeting"); v != "hello" {
		t.Errorf("resume did not revert the hand edit: value %q", v)
	}
	if f := fieldsOf(t, tether(t, 0, "get", "kustomizations", "-n", ns).Stdout, "app"); f[1] != second || f[2] != "False" || f[3] != "True" {
		t.Errorf("after resume, row app: %v", f)
	}
}

func configValue(t *testing.T, ns, name string) string {
	t.Helper()
	var cm corev1.ConfigMap
	if err := cluster.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &cm); err != nil {
		t.Fatal(err)
	}
	return cm.Data["value"]
}

// fieldsOf returns the fields of the table line whose first column is name.
func fieldsOf(t *testing.T, table, name string) []string {
	t.Helper()
	f := strings.Fields(rowOf(t, table, name))
	if len(f) < 4 {
		t.Fatalf("row %q has %d fields:\n%s", name, len(f), table)
	}
	return f
}

func objectMeta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name}
}
