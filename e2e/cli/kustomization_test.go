package cli

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
)

func configMap(value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  value: " + value + "\n"
}

func TestKustomization_ReconcileWithSourceAppliesTheNewCommitAndSuspendResume(t *testing.T) {
	t.Parallel()
	f := newGitFixture(t, map[string]string{"deploy/cm.yaml": configMap("one")})
	ks := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "apps"},
		Spec: kustomizev1.KustomizationSpec{
			SourceRef:       meta.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "app"},
			Path:            "./deploy",
			Prune:           true,
			Interval:        &metav1.Duration{Duration: time.Hour},
			Timeout:         &metav1.Duration{Duration: 30 * time.Second},
			TargetNamespace: f.ns,
		},
	}
	harness.Create(t, cluster, ks)
	harness.WaitFor(t, cluster, ks, "applied", func(k *kustomizev1.Kustomization) bool {
		return meta.IsReady(k) && k.Status.LastAppliedRevision == f.revision(t)
	})
	if fields := row(t, tether(t, 0, "get", "kustomizations", "-n", f.ns).Stdout, "apps"); fields[1] != f.revision(t) || fields[3] != "True" {
		t.Errorf("get ks row = %v", fields)
	}

	// Neither the source nor the Kustomization polls within the test: only
	// --with-source brings the commit in.
	next := "main@sha1:" + f.repo.Commit(t, map[string]string{"deploy/cm.yaml": configMap("two")}, "two")
	res := tether(t, 0, "reconcile", "ks", "apps", "--with-source", "-n", f.ns)
	mustContain(t, "stderr", res.Stderr, "fetched revision "+next, "applied revision "+next)
	cm := &corev1.ConfigMap{}
	if err := cluster.Client.Get(t.Context(), clientKey(f.ns, "greeting"), cm); err != nil || cm.Data["value"] != "two" {
		t.Errorf("ConfigMap after reconcile: %v %v", cm.Data, err)
	}

	// Suspended, a commit is fetched by the source but not applied; resume applies it.
	tether(t, 0, "suspend", "kustomization", "apps", "-n", f.ns)
	if fields := row(t, tether(t, 0, "get", "ks", "-n", f.ns).Stdout, "apps"); fields[2] != "True" {
		t.Errorf("after suspend: %v", fields)
	}
	// A hand edit (drift) is left alone while suspended.
	cm.Data["value"] = "edited by hand"
	if err := cluster.Client.Update(t.Context(), cm, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	third := "main@sha1:" + f.repo.Commit(t, map[string]string{"deploy/cm.yaml": configMap("three")}, "three")
	res = tether(t, 0, "reconcile", "source", "git", "app", "-n", f.ns)
	mustContain(t, "stderr", res.Stderr, "fetched revision "+third)
	if got := harness.Get(t, cluster, ks); got.Status.LastAppliedRevision != next {
		t.Errorf("a suspended Kustomization applied %s", got.Status.LastAppliedRevision)
	}
	if err := cluster.Client.Get(t.Context(), clientKey(f.ns, "greeting"), cm); err != nil || cm.Data["value"] != "edited by hand" {
		t.Errorf("a suspended Kustomization reverted a hand edit: %v %v", cm.Data, err)
	}
	res = tether(t, 0, "resume", "kustomization", "apps", "-n", f.ns)
	mustContain(t, "stderr", res.Stderr, "applied revision "+third)
	if err := cluster.Client.Get(t.Context(), clientKey(f.ns, "greeting"), cm); err != nil || cm.Data["value"] != "three" {
		t.Errorf("ConfigMap after resume (the hand edit reverted, the new commit applied): %v %v", cm.Data, err)
	}

	res = tether(t, 0, "export", "ks", "apps", "-n", f.ns)
	mustContain(t, "export ks", res.Stdout, "kind: Kustomization", "path: ./deploy", "kind: GitRepository")
	mustNotContain(t, "export ks", res.Stdout, "status:", "lastAppliedRevision")
}
