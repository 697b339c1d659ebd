package kustomization

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

const serviceYAML = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
`

const serviceAccountYAML = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
`

func TestKustomization_AppliesObjectsFromGitWithOwnershipAndInventory(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"deploy/configmap.yaml":      configMap("", "web-config", map[string]string{"greeting": "hello"}),
		"deploy/serviceaccount.yaml": serviceAccountYAML,
		"deploy/service.yaml":        serviceYAML,
		"deploy/deployment.yaml":     deploymentYAML("web", 1, ""),
		"README.md":                  "not a manifest\n",
	})
	ks := f.kustomization(t, "web", "./deploy", nil)
	got := waitApplied(t, ks, f.revision(t))

	objs := []client.Object{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "web-config"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "web"}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "web"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "web"}},
	}
	for _, o := range objs {
		mustGet(t, o)
		what := fmt.Sprintf("%T %s", o, o.GetName())
		if l := o.GetLabels(); l[nameLabel] != "web" || l[namespaceLabel] != f.ns {
			t.Errorf("%s: labels %v, want %s=web and %s=%s", what, l, nameLabel, namespaceLabel, f.ns)
		}
		applied := false
		for _, mf := range o.GetManagedFields() {
			if mf.Manager == fieldManager && mf.Operation == metav1.ManagedFieldsOperationApply {
				applied = true
			}
		}
		if !applied {
			t.Errorf("%s: no server-side apply entry of manager %q in managedFields %v", what, fieldManager, managers(o))
		}
	}
	if d := cmData(t, f.ns, "web-config"); d["greeting"] != "hello" {
		t.Errorf("ConfigMap data = %v", d)
	}

	var ids []string
	if got.Status.Inventory != nil {
		for _, e := range got.Status.Inventory.Entries {
			ids = append(ids, e.ID+" "+e.Version)
		}
	}
	want := []string{
		f.ns + "_web-config__ConfigMap v1",
		f.ns + "_web__Service v1",
		f.ns + "_web__ServiceAccount v1",
		f.ns + "_web_apps_Deployment v1",
	}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("inventory = %v\nwant %v", ids, want)
	}
	if got.Status.LastAppliedRevision != f.revision(t) || got.Status.LastAttemptedRevision != f.revision(t) {
		t.Errorf("lastAppliedRevision %q, lastAttemptedRevision %q, want %q", got.Status.LastAppliedRevision, got.Status.LastAttemptedRevision, f.revision(t))
	}
}

func managers(o client.Object) []string {
	var out []string
	for _, mf := range o.GetManagedFields() {
		out = append(out, mf.Manager+"/"+string(mf.Operation))
	}
	return out
}

func TestKustomization_AppliesNewCommitWithinTheIntervalWithoutRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"app/cm.yaml": configMap("", "settings", map[string]string{"level": "1"})})
	ks := f.kustomization(t, "app", "app", nil)
	waitApplied(t, ks, f.revision(t))

	start := time.Now()
	rev := f.commit(t, map[string]string{
		"app/cm.yaml":  configMap("", "settings", map[string]string{"level": "2"}),
		"app/new.yaml": configMap("", "added", map[string]string{"a": "b"}),
	}, "level 2")
	// The source polls every 2s and the Kustomization follows its new
	// artifact (or its own 5s interval): well within 20s.
	got := harness.WaitFor(t, cluster, ks, "revision "+rev, func(k *kustomizev1.Kustomization) bool {
		return k.Status.LastAppliedRevision == rev
	})
	t.Logf("commit applied %s after the push", time.Since(start).Round(100*time.Millisecond))
	if time.Since(start) > 20*time.Second {
		t.Errorf("the commit took %s to be applied, want it within 20s (intervals: 2s source, 5s kustomization)", time.Since(start))
	}
	if d := cmData(t, f.ns, "settings"); d["level"] != "2" {
		t.Errorf("settings data = %v, want level 2", d)
	}
	cmData(t, f.ns, "added")
	if n := len(got.Status.Inventory.Entries); n != 2 {
		t.Errorf("inventory has %d entries, want 2: %v", n, got.Status.Inventory.Entries)
	}
}

func TestKustomization_PrunesObjectsRemovedFromGit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"prune/a.yaml": configMap("", "prune-a", map[string]string{"k": "v"}),
		"prune/b.yaml": configMap("", "prune-b", map[string]string{"k": "v"}) + "---\n" + strings.ReplaceAll(serviceAccountYAML, "name: web", "name: prune-b"),
		"keep/c.yaml":  configMap("", "keep-c", map[string]string{"k": "v"}),
		"keep/d.yaml":  configMap("", "keep-d", map[string]string{"k": "v"}),
	})
	pruning := f.kustomization(t, "pruning", "prune", nil)
	keeping := f.kustomization(t, "keeping", "keep", func(s *kustomizev1.KustomizationSpec) { s.Prune = false })
	waitApplied(t, pruning, f.revision(t))
	waitApplied(t, keeping, f.revision(t))

	rev := f.commit(t, map[string]string{"prune/b.yaml": gitserver.Deleted, "keep/d.yaml": gitserver.Deleted}, "remove b and d")
	got := waitApplied(t, pruning, rev)
	waitApplied(t, keeping, rev)

	// Pruning deletes in the background: the objects may take a moment to go.
	waitGone(t, 10*time.Second, cmKey(f.ns, "prune-b"))
	waitGone(t, 10*time.Second, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "prune-b"}})
	cmData(t, f.ns, "prune-a")
	if len(got.Status.Inventory.Entries) != 1 || got.Status.Inventory.Entries[0].ID != f.ns+"_prune-a__ConfigMap" {
		t.Errorf("inventory after prune = %v, want only prune-a", got.Status.Inventory.Entries)
	}
	// prune: false leaves the object removed from Git in place.
	cmData(t, f.ns, "keep-c")
	cmData(t, f.ns, "keep-d")
	events := strings.Join(kustomizationEvents(t, pruning), "\n")
	mustContain(t, "events of the pruning Kustomization", events, "ConfigMap/"+f.ns+"/prune-b")
}

func TestKustomization_RevertsHandEditsOfOwnedFieldsAndKeepsOthersFields(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"app/cm.yaml":     configMap("", "settings", map[string]string{"level": "from-git"}),
		"app/deploy.yaml": deploymentYAML("web", 2, ""),
	})
	ks := f.kustomization(t, "app", "app", nil)
	waitApplied(t, ks, f.revision(t))

	cm := cmKey(f.ns, "settings")
	update(t, cm, func() {
		cm.Data["level"] = "hand-edit"
		cm.Labels["team"] = "payments"
	})
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "web"}}
	update(t, dep, func() { dep.Spec.Replicas = ptr.To[int32](5) })

	harness.ReconcileAndWait(t, cluster, ks)
	got := cmData(t, f.ns, "settings")
	if got["level"] != "from-git" {
		t.Errorf("after a reconcile the hand-edited data is %q, want it reverted to from-git", got["level"])
	}
	mustGet(t, cm)
	if cm.Labels["team"] != "payments" {
		t.Errorf("the label another manager added was removed: labels %v", cm.Labels)
	}
	mustGet(t, dep)
	if r := ptr.Deref(dep.Spec.Replicas, 0); r != 2 {
		t.Errorf("after a reconcile the Deployment has %d replicas, want 2 (from Git)", r)
	}

	// Without a request, drift is reverted on the next interval (5s).
	update(t, cm, func() { cm.Data["level"] = "edited-again" })
	start := time.Now()
	waitCMData(t, 15*time.Second, f.ns, "settings", "level", "from-git")
	t.Logf("drift reverted by itself after %s", time.Since(start).Round(100*time.Millisecond))
	mustGet(t, cm)
	if cm.Labels["team"] != "payments" {
		t.Errorf("the label another manager added was removed: labels %v", cm.Labels)
	}
}

func TestKustomization_RecreatesDeletedObjects(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"app/cm.yaml": configMap("", "settings", map[string]string{"level": "1"}),
		"app/sa.yaml": serviceAccountYAML,
	})
	ks := f.kustomization(t, "app", "app", nil)
	waitApplied(t, ks, f.revision(t))

	cm := cmKey(f.ns, "settings")
	mustGet(t, cm)
	oldUID := cm.UID
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "web"}}
	for _, o := range []client.Object{cm, sa} {
		if err := cluster.Client.Delete(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	harness.ReconcileAndWait(t, cluster, ks)
	eventually(t, 10*time.Second, func() error {
		if err := get(cm); err != nil {
			return err
		}
		if cm.UID == oldUID {
			return fmt.Errorf("ConfigMap not yet deleted and recreated")
		}
		return get(sa)
	})
	if cm.Data["level"] != "1" || cm.Labels[nameLabel] != "app" {
		t.Errorf("recreated ConfigMap: data %v labels %v", cm.Data, cm.Labels)
	}
}

func TestKustomization_WaitReportsDeploymentThatNeverBecomesReady(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"stuck/deploy.yaml": deploymentYAML("stuck", 1, "      nodeSelector:\n        tether.dev/no-such-node: \"true\"\n"),
		"stuck/cm.yaml":     configMap("", "stuck-config", map[string]string{"a": "b"}),
	})
	ks := f.kustomization(t, "stuck", "stuck", func(s *kustomizev1.KustomizationSpec) {
		s.Wait = true
		s.Timeout = &metav1.Duration{Duration: 5 * time.Second}
	})
	got := waitFailed(t, ks, "HealthCheckFailed", f.revision(t))
	mustContain(t, "Ready message", readyMessage(got), "Deployment/"+f.ns+"/stuck")
	if strings.Contains(readyMessage(got), "ConfigMap/") {
		t.Errorf("the healthy ConfigMap is named among the unhealthy objects: %s", readyMessage(got))
	}
	if got.Status.LastAppliedRevision != "" {
		t.Errorf("lastAppliedRevision = %q, want none: the revision never became healthy", got.Status.LastAppliedRevision)
	}
	// It was applied nonetheless: health is checked after the apply.
	cmData(t, f.ns, "stuck-config")
	mustGet(t, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "stuck"}})
}

func TestKustomization_WaitIsReadyOnlyAfterDeploymentIsAvailable(t *testing.T) {
	t.Parallel()
	// minReadySeconds keeps the Deployment unavailable for 5s after its pod
	// runs: long enough to see the Kustomization wait for it.
	f := newFixture(t, map[string]string{
		"good/deploy.yaml": strings.Replace(deploymentYAML("good", 2, ""), "spec:\n  replicas", "spec:\n  minReadySeconds: 5\n  replicas", 1),
	})
	ks := f.kustomization(t, "good", "good", func(s *kustomizev1.KustomizationSpec) { s.Wait = true })

	sawWaiting := false
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "good"}}
	got := harness.WaitFor(t, cluster, ks, "Ready", func(k *kustomizev1.Kustomization) bool {
		if strings.Contains(readyMessage(k), "Deployment/"+f.ns+"/good") && !isReady(k) {
			sawWaiting = true
		}
		if !isReady(k) {
			return false
		}
		// At the moment the Kustomization is Ready the Deployment is Available.
		mustGet(t, dep)
		if !deploymentAvailable(dep) {
			t.Errorf("Kustomization Ready while Deployment is not Available: %+v", dep.Status)
		}
		return true
	})
	if !sawWaiting {
		t.Errorf("never saw the Kustomization waiting for the Deployment")
	}
	if got.Status.LastAppliedRevision != f.revision(t) {
		t.Errorf("lastAppliedRevision = %q", got.Status.LastAppliedRevision)
	}
	if c := condition(got, "Healthy"); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Healthy condition = %+v", c)
	}
}

func isReady(k *kustomizev1.Kustomization) bool {
	c := condition(k, "Ready")
	return c != nil && c.Status == metav1.ConditionTrue && k.Status.ObservedGeneration == k.Generation
}

func condition(k *kustomizev1.Kustomization, typ string) *metav1.Condition {
	for i := range k.Status.Conditions {
		if k.Status.Conditions[i].Type == typ {
			return &k.Status.Conditions[i]
		}
	}
	return nil
}

func deploymentAvailable(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			return d.Status.AvailableReplicas == ptr.Deref(d.Spec.Replicas, 1)
		}
	}
	return false
}

func TestKustomization_DependsOnWaitsUntilDependencyIsReady(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"infra/cm.yaml": configMap("", "infra", map[string]string{"a": "1"}),
		"apps/cm.yaml":  configMap("", "apps", map[string]string{"b": "2"}),
	})
	// A starts suspended, so it is not Ready.
	a := f.kustomization(t, "infra", "infra", func(s *kustomizev1.KustomizationSpec) { s.Suspend = true })
	b := f.kustomization(t, "apps", "apps", func(s *kustomizev1.KustomizationSpec) {
		s.DependsOn = []meta.DependencyReference{{Name: "infra"}}
	})
	got := harness.WaitForReason(t, cluster, b, "DependencyNotReady")
	mustContain(t, "Ready message of the dependent", readyMessage(got), "infra")
	mustNotExist(t, cmKey(f.ns, "apps"))
	mustNotExist(t, cmKey(f.ns, "infra"))

	harness.SetSuspend(t, cluster, a, false)
	gotA := waitApplied(t, a, f.revision(t))
	gotB := waitApplied(t, b, f.revision(t))
	cmData(t, f.ns, "infra")
	cmData(t, f.ns, "apps")
	ra, rb := condition(gotA, "Ready"), condition(gotB, "Ready")
	if rb.LastTransitionTime.Before(&ra.LastTransitionTime) {
		t.Errorf("dependent Ready at %s, before its dependency at %s", rb.LastTransitionTime, ra.LastTransitionTime)
	}
}

func TestKustomization_DependsOnWaitsWhileDependencySourceIsNotReady(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"infra/cm.yaml": configMap("", "infra", map[string]string{"a": "1"}),
		"apps/cm.yaml":  configMap("", "apps", map[string]string{"b": "2"}),
	})
	// A's source does not exist yet.
	a := f.kustomization(t, "infra", "infra", func(s *kustomizev1.KustomizationSpec) { s.SourceRef.Name = "later" })
	b := f.kustomization(t, "apps", "apps", func(s *kustomizev1.KustomizationSpec) {
		s.DependsOn = []meta.DependencyReference{{Name: "infra"}}
	})
	gotA := harness.WaitForReason(t, cluster, a, meta.ArtifactFailedReason)
	mustContain(t, "Ready message of the dependency", readyMessage(gotA), "later")
	gotB := harness.WaitForReason(t, cluster, b, meta.DependencyNotReadyReason)
	mustContain(t, "Ready message of the dependent", readyMessage(gotB), "infra")
	mustNotExist(t, cmKey(f.ns, "apps"))

	later := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "later"}, Spec: *f.src.Spec.DeepCopy()}
	harness.Create(t, cluster, later)
	waitApplied(t, a, f.revision(t))
	waitApplied(t, b, f.revision(t))
	cmData(t, f.ns, "apps")
}

// After a commit to the source both share, the dependent waits until its
// dependency has applied that commit: here never, since the dependency's
// new Deployment cannot become ready.
func TestKustomization_DependsOnWaitsForTheDependencyToApplyTheNewCommit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"infra/deploy.yaml": deploymentYAML("infra", 1, ""),
		"apps/cm.yaml":      configMap("", "apps", map[string]string{"level": "v1"}),
	})
	a := f.kustomization(t, "infra", "infra", func(s *kustomizev1.KustomizationSpec) {
		s.Wait = true
		s.Timeout = &metav1.Duration{Duration: 5 * time.Second}
	})
	b := f.kustomization(t, "apps", "apps", func(s *kustomizev1.KustomizationSpec) {
		s.DependsOn = []meta.DependencyReference{{Name: "infra"}}
	})
	first := f.revision(t)
	waitApplied(t, a, first)
	waitApplied(t, b, first)

	rev := f.commit(t, map[string]string{
		"infra/deploy.yaml": deploymentYAML("infra", 1, "      nodeSelector:\n        tether.dev/no-such-node: \"true\"\n"),
		"apps/cm.yaml":      configMap("", "apps", map[string]string{"level": "v2"}),
	}, "v2")
	waitFailed(t, a, meta.HealthCheckFailedReason, rev)
	got := harness.WaitForReason(t, cluster, b, meta.DependencyNotReadyReason)
	if got.Status.LastAppliedRevision != first {
		t.Errorf("the dependent applied %s before its dependency did", got.Status.LastAppliedRevision)
	}
	if d := cmData(t, f.ns, "apps"); d["level"] != "v1" {
		t.Errorf("the dependent applied the new commit before its dependency: %v", d)
	}
}

func TestKustomization_SuspendStopsDriftCorrectionAndResumeRestartsIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"app/cm.yaml": configMap("", "settings", map[string]string{"level": "from-git"})})
	ks := f.kustomization(t, "app", "app", func(s *kustomizev1.KustomizationSpec) {
		s.Interval = &metav1.Duration{Duration: 2 * time.Second}
	})
	waitApplied(t, ks, f.revision(t))

	harness.SetSuspend(t, cluster, ks, true)
	// Let a reconcile already queued run out before editing.
	harness.WaitFor(t, cluster, ks, "suspended", func(k *kustomizev1.Kustomization) bool { return k.Spec.Suspend })
	cm := cmKey(f.ns, "settings")
	update(t, cm, func() { cm.Data["level"] = "hand-edit" })
	harness.RequestReconcile(t, cluster, ks)
	// Three intervals (2s) with a request: a running reconciler would have reverted it.
	consistently(t, 6*time.Second, func() error {
		if d := cmData(t, f.ns, "settings"); d["level"] != "hand-edit" {
			return fmt.Errorf("a suspended Kustomization reverted the edit: level = %q", d["level"])
		}
		return nil
	})

	harness.SetSuspend(t, cluster, ks, false)
	waitCMData(t, 15*time.Second, f.ns, "settings", "level", "from-git")
}

func TestKustomization_DeletionWithPruneDeletesObjectsUnlessSuspended(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"a/cm.yaml": configMap("", "owned-a", map[string]string{"k": "v"}),
		"a/sa.yaml": strings.ReplaceAll(serviceAccountYAML, "name: web", "name: owned-a"),
		"b/cm.yaml": configMap("", "owned-b", map[string]string{"k": "v"}),
	})
	a := f.kustomization(t, "a", "a", nil)
	b := f.kustomization(t, "b", "b", nil)
	waitApplied(t, a, f.revision(t))
	waitApplied(t, b, f.revision(t))

	if err := cluster.Client.Delete(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	waitGone(t, 30*time.Second, &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "a"}})
	waitGone(t, 10*time.Second, cmKey(f.ns, "owned-a"))
	waitGone(t, 10*time.Second, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "owned-a"}})

	harness.SetSuspend(t, cluster, b, true)
	harness.WaitFor(t, cluster, b, "suspended", func(k *kustomizev1.Kustomization) bool { return k.Spec.Suspend })
	if err := cluster.Client.Delete(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	waitGone(t, 30*time.Second, &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "b"}})
	if d := cmData(t, f.ns, "owned-b"); d["k"] != "v" {
		t.Errorf("owned-b data = %v", d)
	}
}

func TestKustomization_PruneLimitRefusesToPruneMostObjects(t *testing.T) {
	t.Parallel()
	files := map[string]string{}
	for _, n := range []string{"one", "two", "three", "four"} {
		files["app/"+n+".yaml"] = configMap("", n, map[string]string{"k": "v"})
	}
	f := newFixture(t, files)
	ks := f.kustomization(t, "app", "app", func(s *kustomizev1.KustomizationSpec) {
		s.PruneLimit = &kustomizev1.PruneLimit{Percent: 50}
	})
	waitApplied(t, ks, f.revision(t))

	rev := f.commit(t, map[string]string{"app/two.yaml": gitserver.Deleted, "app/three.yaml": gitserver.Deleted, "app/four.yaml": gitserver.Deleted}, "remove 3 of 4")
	got := waitFailed(t, ks, kustomizev1.PruneLimitExceededReason, rev)
	mustContain(t, "Ready message", readyMessage(got), "3 of 4", "pruneLimit")
	for _, n := range []string{"one", "two", "three", "four"} {
		cmData(t, f.ns, n)
	}
	if n := len(got.Status.Inventory.Entries); n != 4 {
		t.Errorf("inventory has %d entries after the refused prune, want the 4 still known: %v", n, got.Status.Inventory.Entries)
	}
	// A retry does not prune either.
	harness.ReconcileAndWait(t, cluster, ks)
	for _, n := range []string{"two", "three", "four"} {
		cmData(t, f.ns, n)
	}
}

func TestKustomization_HundredKustomizationsFromOneSourceAllBecomeReady(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"fleet/cm.yaml": configMap("", "config", map[string]string{"k": "v"})})
	const n = 100
	start := time.Now()
	for i := range n {
		f.kustomization(t, fmt.Sprintf("app-%03d", i), "fleet", func(s *kustomizev1.KustomizationSpec) {
			s.NamePrefix = fmt.Sprintf("app-%03d-", i)
			s.Interval = &metav1.Duration{Duration: 10 * time.Minute}
		})
	}
	rev := f.revision(t)
	eventually(t, 120*time.Second, func() error {
		var list kustomizev1.KustomizationList
		if err := cluster.Client.List(context.Background(), &list, client.InNamespace(f.ns)); err != nil {
			return err
		}
		ready := 0
		var notReady []string
		for i := range list.Items {
			k := &list.Items[i]
			if isReady(k) && k.Status.LastAppliedRevision == rev {
				ready++
			} else if len(notReady) < 3 {
				notReady = append(notReady, k.Name+": "+readyMessage(k))
			}
		}
		if ready < n {
			return fmt.Errorf("%d of %d Kustomizations Ready; e.g. %v", ready, n, notReady)
		}
		return nil
	})
	t.Logf("%d Kustomizations Ready %s after the first was created", n, time.Since(start).Round(100*time.Millisecond))
	var cms corev1.ConfigMapList
	if err := cluster.Client.List(context.Background(), &cms, client.InNamespace(f.ns), client.HasLabels{nameLabel}); err != nil {
		t.Fatal(err)
	}
	if len(cms.Items) != n {
		t.Errorf("%d applied ConfigMaps, want %d", len(cms.Items), n)
	}
}

func TestKustomization_HealthChecksWaitForTheNamedObjectsInTheirNamespaceOrTheKustomizations(t *testing.T) {
	t.Parallel()
	// minReadySeconds keeps web unavailable for a while after its pod runs,
	// so that Ready before it is Available would be seen.
	f := newFixture(t, map[string]string{
		"app/web.yaml": strings.Replace(deploymentYAML("web", 1, ""), "spec:\n  replicas", "spec:\n  minReadySeconds: 3\n  replicas", 1),
		"app/api.yaml": deploymentYAML("api", 1, ""),
	})
	ks := f.kustomization(t, "app", "app", func(s *kustomizev1.KustomizationSpec) {
		s.HealthChecks = []meta.NamespacedObjectKindReference{
			{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}, // the Kustomization's namespace
			{APIVersion: "apps/v1", Kind: "Deployment", Name: "api", Namespace: f.ns},
		}
	})
	got := harness.WaitFor(t, cluster, ks, "Ready", func(k *kustomizev1.Kustomization) bool {
		if !isReady(k) {
			return false
		}
		for _, name := range []string{"web", "api"} {
			dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name}}
			mustGet(t, dep)
			if !deploymentAvailable(dep) {
				t.Errorf("Kustomization Ready while Deployment %s is not Available: %+v", name, dep.Status)
			}
		}
		return true
	})
	if c := condition(got, "Healthy"); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Healthy condition = %+v", c)
	}

	// A check of an object that does not exist fails after the timeout,
	// naming it in the Kustomization's namespace.
	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.HealthChecks = append(got.Spec.HealthChecks, meta.NamespacedObjectKindReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "missing"})
	got.Spec.Timeout = &metav1.Duration{Duration: 3 * time.Second}
	if err := cluster.Client.Patch(context.Background(), got, patch); err != nil {
		t.Fatal(err)
	}
	failed := waitFailed(t, ks, meta.HealthCheckFailedReason, f.revision(t))
	mustContain(t, "Ready message", readyMessage(failed), "Deployment/"+f.ns+"/missing")
	for _, name := range []string{"/web", "/api"} {
		if strings.Contains(readyMessage(failed), "Deployment/"+f.ns+name) {
			t.Errorf("the healthy Deployment%s is named among the unhealthy objects: %s", name, readyMessage(failed))
		}
	}
}
