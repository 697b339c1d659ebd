package helmrelease

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

// The release's objects go to targetNamespace, which install.createNamespace
// creates, and its record to storageNamespace. The default release name
// "<targetNamespace>-<name>" is longer than Helm allows here: it is
// shortened.
func TestHelmRelease_TargetNamespaceCreatedAndStorageNamespace(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	storage := testcluster.NewNamespace(t, cluster)
	target := f.ns + "-target"
	t.Cleanup(func() {
		_ = cluster.Client.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: target}})
	})
	hr := f.release("placed", "*", map[string]any{"message": "there"}, func(s *helmv1.HelmReleaseSpec) {
		s.TargetNamespace = target
		s.StorageNamespace = storage
		s.Install = &helmv1.Install{CreateNamespace: true}
	})
	harness.Create(t, cluster, hr)
	got := waitRelease(t, hr, 1)
	name := hr.GetReleaseName()
	if s := got.Status.History.Latest(); s.Name != name || s.Namespace != target || got.Status.StorageNamespace != storage {
		t.Errorf("history[0] %s/%s, storage namespace %q", s.Namespace, s.Name, got.Status.StorageNamespace)
	}
	if len(name) > helmv1.MaxReleaseNameLength || !strings.HasPrefix(name, target[:20]) {
		t.Errorf("release name %q (%d characters)", name, len(name))
	}
	if d := configData(t, target, name); d["message"] != "there" {
		t.Errorf("ConfigMap in the target namespace: %v", d)
	}
	if s := releaseSecrets(t, storage, name); len(s) != 1 {
		t.Errorf("release Secrets in the storage namespace: %v", s)
	}
	for _, ns := range []string{target, f.ns} {
		if s := releaseSecrets(t, ns, name); len(s) != 0 {
			t.Errorf("release Secrets in %s: %v", ns, s)
		}
	}
	var cms corev1.ConfigMapList
	if err := cluster.Client.List(context.Background(), &cms, client.InNamespace(f.ns)); err != nil {
		t.Fatal(err)
	}
	for _, cm := range cms.Items {
		if strings.HasSuffix(cm.Name, "-config") {
			t.Errorf("a release object in the HelmRelease's namespace: ConfigMap %s", cm.Name)
		}
	}
}

// With driftDetection disabled a hand edit of a release object stays.
func TestHelmRelease_DriftDetectionDisabledLeavesAHandEdit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("handedit", "*", nil, func(s *helmv1.HelmReleaseSpec) {
		s.DriftDetection = &helmv1.DriftDetection{Mode: helmv1.DriftDetectionDisabled}
	})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)
	dep := deployment(t, f.ns, "handedit")
	five := int32(5)
	dep.Spec.Replicas = &five
	if err := cluster.Client.Update(context.Background(), dep, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	got := harness.ReconcileAndWait(t, cluster, hr)
	if !meta.IsReady(got) || got.Status.History.Latest().Version != 1 {
		t.Errorf("after the reconcile: %s, history %s", harness.Conditions(got), historyStatuses(got))
	}
	if r := *deployment(t, f.ns, "handedit").Spec.Replicas; r != 5 {
		t.Errorf("replicas %d: the hand edit was reverted", r)
	}
	noEvent(t, hr, helmv1.DriftDetectedReason)
}

// A suspended HelmRelease ignores a change of its values, and deleting it
// leaves the release installed.
func TestHelmRelease_SuspendedIgnoresChangesAndIsNotUninstalledOnDelete(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("paused", "*", map[string]any{"message": "one"})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)

	harness.SetSuspend(t, cluster, hr, true)
	update(t, hr, func(s *helmv1.HelmReleaseSpec) { s.Values = jsonValues(map[string]any{"message": "two"}) })
	// The reconciler handles the deletion (it removes its finalizer), after
	// the values change: neither upgrades nor uninstalls.
	if err := cluster.Client.Delete(context.Background(), harness.Get(t, cluster, hr)); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &helmv1.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "paused"}})
	if d := configData(t, f.ns, "paused"); d["message"] != "one" {
		t.Errorf("ConfigMap %v: the suspended release was upgraded", d)
	}
	if s := releaseSecrets(t, f.ns, "paused"); len(s) != 1 {
		t.Errorf("release Secrets %v, want v1 alone", s)
	}
	deployment(t, f.ns, "paused")
	noEvent(t, hr, helmv1.UninstallSucceededReason)
	noEvent(t, hr, helmv1.UpgradeSucceededReason)
}

// upgrade.remediation.strategy uninstall removes the release after a failed
// upgrade instead of rolling it back.
func TestHelmRelease_UpgradeRemediationUninstall(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	uninstall := helmv1.UninstallRemediationStrategy
	hr := f.release("unup", "*", map[string]any{"message": "good"}, func(s *helmv1.HelmReleaseSpec) {
		s.Upgrade = &helmv1.Upgrade{Remediation: &helmv1.UpgradeRemediation{Strategy: &uninstall, RemediateLastFailure: ptr(true)}}
	})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)

	update(t, hr, func(s *helmv1.HelmReleaseSpec) { s.Values = jsonValues(map[string]any{"message": "bad", "fail": true}) })
	got := harness.WaitFor(t, cluster, hr, "Remediated by an uninstall", func(o *helmv1.HelmRelease) bool {
		return o.Status.UpgradeFailures == 1 && strings.HasPrefix(condition(o, meta.RemediatedCondition), "True UninstallSucceeded")
	})
	if got.Status.Failures < 1 {
		t.Errorf("status.failures %d", got.Status.Failures)
	}
	waitEvent(t, hr, helmv1.UninstallSucceededReason, "Helm uninstall of failed release "+f.ns+"/unup succeeded")
	noEvent(t, hr, helmv1.RollbackSucceededReason)
	// The uninstall deleted the release's objects (the Service, which a
	// later install of the bad values would also create, is not checked).
	waitGone(t, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "unup"}})
}

// Helm keeps maxHistory release Secrets; status.history keeps the newest 5.
func TestHelmRelease_MaxHistoryPrunesReleaseSecrets(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	keepAll := 0
	hr := f.release("pruned", "*", map[string]any{"message": "1"}, func(s *helmv1.HelmReleaseSpec) { s.MaxHistory = &keepAll })
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)
	var got *helmv1.HelmRelease
	for v := 2; v <= 7; v++ {
		update(t, hr, func(s *helmv1.HelmReleaseSpec) {
			s.Values = jsonValues(map[string]any{"message": string(rune('0' + v))})
		})
		got = waitRelease(t, hr, v)
	}
	if s := releaseSecrets(t, f.ns, "pruned"); len(s) != 7 {
		t.Errorf("maxHistory 0 kept %d release Secrets: %v", len(s), s)
	}
	if n := len(got.Status.History); n != 5 || got.Status.History[4].Version != 3 {
		t.Errorf("status.history has %d entries: %s", n, historyStatuses(got))
	}

	two := 2
	update(t, hr, func(s *helmv1.HelmReleaseSpec) {
		s.MaxHistory = &two
		s.Values = jsonValues(map[string]any{"message": "8"})
	})
	got = waitRelease(t, hr, 8)
	if s := releaseSecrets(t, f.ns, "pruned"); len(s) != 2 || !strings.HasSuffix(s[0], ".v7") || !strings.HasSuffix(s[1], ".v8") {
		t.Errorf("maxHistory 2 kept release Secrets %v", s)
	}
	if h := historyStatuses(got); h != "v8 deployed, v7 superseded" {
		t.Errorf("status.history: %s", h)
	}
}

// A HelmRelease that depends on a Kustomization waits until it is Ready.
func TestHelmRelease_DependsOnAKustomization(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("afterks", "*", nil, func(s *helmv1.HelmReleaseSpec) {
		s.DependsOn = []meta.DependencyReference{{Kind: kustomizev1.KustomizationKind, Name: "base"}}
	})
	harness.Create(t, cluster, hr)
	got := harness.WaitForReason(t, cluster, hr, meta.DependencyNotReadyReason)
	if len(got.Status.History) != 0 || len(releaseSecrets(t, f.ns, "afterks")) != 0 {
		t.Fatalf("released before its dependency: %s", historyStatuses(got))
	}

	git := gitserver.NewHTTP(t)
	gitserver.InitRepo(t, git.Root(), "base", map[string]string{
		"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\n  namespace: " + f.ns + "\ndata:\n  k: v\n"})
	harness.Create(t, cluster, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "base"},
		Spec: sourcev1.GitRepositorySpec{URL: git.URL("base"), Interval: every(2 * time.Second)}})
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "base"}, Spec: kustomizev1.KustomizationSpec{
		Interval:  every(time.Minute),
		Prune:     true,
		SourceRef: meta.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "base"},
	}}
	harness.Create(t, cluster, ks)
	k := harness.WaitReady(t, cluster, ks)
	got = waitRelease(t, hr, 1)
	if ready := meta.GetCondition(k, meta.ReadyCondition); got.Status.History.Latest().FirstDeployed.Time.Before(ready.LastTransitionTime.Time.Add(-time.Second)) {
		t.Errorf("installed at %s, before the Kustomization was Ready at %s", got.Status.History.Latest().FirstDeployed, ready.LastTransitionTime)
	}
}

// spec.chartRef to a HelmChart made by hand: its artifact is the chart, and
// a new version it resolves upgrades the release.
func TestHelmRelease_ChartRefToAHelmChart(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	harness.Create(t, cluster, &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "app"}, Spec: sourcev1.HelmChartSpec{
		Chart: "app", Version: "1.x", Interval: every(2 * time.Second),
		SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "charts"},
	}})
	hr := &helmv1.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "byref"}, Spec: helmv1.HelmReleaseSpec{
		Interval: every(time.Minute),
		ChartRef: &meta.CrossNamespaceSourceReference{Kind: sourcev1.HelmChartKind, Name: "app"},
		Values:   jsonValues(map[string]any{"message": "ref"}),
	}}
	harness.Create(t, cluster, hr)
	got := waitRelease(t, hr, 1)
	if s := got.Status.History.Latest(); s.ChartVersion != "1.0.0" || got.Status.HelmChart != "" {
		t.Errorf("history[0] %+v, status.helmChart %q", s, got.Status.HelmChart)
	}
	if d := configData(t, f.ns, "byref"); d["message"] != "ref" {
		t.Errorf("ConfigMap %v", d)
	}
	publish(t, f.srv, "app", "1.1.0", chartOpts{})
	got = waitRelease(t, hr, 2)
	if s := got.Status.History.Latest(); s.ChartVersion != "1.1.0" {
		t.Errorf("after publishing 1.1.0: %+v", s)
	}
	// Deleting the HelmRelease leaves the HelmChart it did not make.
	if err := cluster.Client.Delete(context.Background(), got); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &helmv1.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "byref"}})
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: "app"}, &sourcev1.HelmChart{}); apierrors.IsNotFound(err) {
		t.Error("deleting the HelmRelease deleted the HelmChart of its chartRef")
	}
}
