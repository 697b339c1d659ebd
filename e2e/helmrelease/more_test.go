package helmrelease

import (
	"strings"
	"testing"
	"time"

	rcommon "helm.sh/helm/v4/pkg/release/common"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/helm"
	"github.com/tether-gitops/tether/pkg/testserver/chartrepo"
)

func TestHelmRelease_RecoversAReleaseLeftPendingUpgrade(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("stuck", "*", map[string]any{"message": "v1"})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)

	// As a reconciler killed in the middle of an upgrade leaves it: the
	// newest release version pending-upgrade.
	harness.SetSuspend(t, cluster, hr, true)
	cfg, err := helm.NewConfiguration(helm.NewClientGetter(cluster.Config, f.ns), f.ns, f.ns, nil)
	if err != nil {
		t.Fatal(err)
	}
	runner := helm.NewRunner(cfg, "stuck", f.ns)
	last, err := runner.Last()
	if err != nil {
		t.Fatal(err)
	}
	pending := *last
	info := *last.Info
	pending.Info, pending.Version = &info, 2
	pending.SetStatus(rcommon.StatusPendingUpgrade, "upgrading")
	if err := cfg.Releases.Create(&pending); err != nil {
		t.Fatal(err)
	}

	update(t, hr, func(s *helmv1.HelmReleaseSpec) {
		s.Suspend = false
		s.Values = jsonValues(map[string]any{"message": "v2"})
	})
	got := waitRelease(t, hr, 3)
	if got.Status.History[1].Version != 2 || got.Status.History[1].Status != "failed" {
		t.Errorf("the pending version: %+v", got.Status.History[1])
	}
	if d := configData(t, f.ns, "stuck"); d["message"] != "v2" {
		t.Errorf("ConfigMap data %v", d)
	}
	waitEvent(t, hr, "PendingReleaseRecovered", "pending-upgrade")
}

func TestHelmRelease_PostRenderersPatchTheManifest(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("patched", "*", nil, func(s *helmv1.HelmReleaseSpec) {
		s.PostRenderers = []helmv1.PostRenderer{{Kustomize: &helmv1.KustomizePostRenderer{
			Patches: []meta.Patch{{Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: patched\nspec:\n  replicas: 2\n"}},
			Images:  []meta.Image{{Name: "registry.example/app", NewTag: "2.0"}},
		}}}
	})
	harness.Create(t, cluster, hr)
	got := waitRelease(t, hr, 1)
	dep := deployment(t, f.ns, "patched")
	if *dep.Spec.Replicas != 2 || dep.Spec.Template.Spec.Containers[0].Image != "registry.example/app:2.0" {
		t.Errorf("post-rendered Deployment: replicas %d, image %s", *dep.Spec.Replicas, dep.Spec.Template.Spec.Containers[0].Image)
	}
	if got.Status.ObservedPostRenderersDigest == "" {
		t.Error("status.observedPostRenderersDigest is empty")
	}
	// Drift detection compares with the post-rendered manifest: no drift.
	got = harness.ReconcileAndWait(t, cluster, hr)
	if s := got.Status.History.Latest(); s.Version != 1 || !meta.IsReady(got) {
		t.Errorf("after a reconcile: v%d %s", s.Version, harness.Conditions(got))
	}
	for _, e := range events(t, hr) {
		if len(e) > 0 && e[:len(helmv1.DriftDetectedReason)] == helmv1.DriftDetectedReason {
			t.Errorf("drift reported for a post-rendered release: %s", e)
		}
	}
}

func TestHelmRelease_ChartRefToAnOCIRepository(t *testing.T) {
	t.Parallel()
	reconciler.LogOnFailure(t)
	ns := testcluster.NewNamespace(t, cluster)
	reg := chartrepo.NewRegistry(t)
	reg.Push("app", "1.0.0")
	oci := &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, Spec: sourcev1.OCIRepositorySpec{
		URL: "oci://" + reg.Host() + "/charts/app", Insecure: true, Interval: every(2 * time.Second),
		Reference:     &sourcev1.OCIRepositoryRef{SemVer: "1.x"},
		LayerSelector: &sourcev1.OCILayerSelector{MediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip", Operation: sourcev1.OCILayerCopy},
	}}
	harness.Create(t, cluster, oci)
	hr := &helmv1.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ref"}, Spec: helmv1.HelmReleaseSpec{
		Interval: every(time.Minute),
		ChartRef: &meta.CrossNamespaceSourceReference{Kind: sourcev1.OCIRepositoryKind, Name: "app"},
	}}
	harness.Create(t, cluster, hr)
	got := waitRelease(t, hr, 1)
	s := got.Status.History.Latest()
	if s.ChartVersion != "1.0.0" || s.OCIDigest == "" || got.Status.LastAttemptedRevisionDigest != s.OCIDigest {
		t.Errorf("history[0] %+v, lastAttemptedRevisionDigest %q", s, got.Status.LastAttemptedRevisionDigest)
	}
	if got.Status.HelmChart != "" {
		t.Errorf("a chartRef made a HelmChart: %s", got.Status.HelmChart)
	}
	reg.Push("app", "1.1.0")
	got = waitRelease(t, hr, 2)
	if s := got.Status.History.Latest(); s.ChartVersion != "1.1.0" || s.OCIDigest == got.Status.History[1].OCIDigest {
		t.Errorf("after pushing 1.1.0: %+v", s)
	}
}

func TestHelmRelease_RenamingTheReleaseUninstallsTheOldOne(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("renamed", "*", nil)
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)

	update(t, hr, func(s *helmv1.HelmReleaseSpec) { s.ReleaseName = "renamed-new" })
	got := harness.WaitFor(t, cluster, hr, "release renamed-new v1", func(o *helmv1.HelmRelease) bool {
		s := o.Status.History.Latest()
		return meta.IsReady(o) && o.Status.ObservedGeneration == o.Generation && s != nil && s.Name == "renamed-new" && s.Version == 1
	})
	if len(got.Status.History) != 1 {
		t.Errorf("history still has the old release: %+v", got.Status.History)
	}
	configData(t, f.ns, "renamed-new")
	waitGone(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "renamed-config"}})
	if s := releaseSecrets(t, f.ns, "renamed"); len(s) != 0 {
		t.Errorf("the old release's Secrets are left: %v", s)
	}
	waitEvent(t, hr, helmv1.UninstallSucceededReason, "the spec now names release "+f.ns+"/renamed-new")
}

func TestHelmRelease_DependsOnAnotherHelmRelease(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	front := f.release("front", "*", nil, func(s *helmv1.HelmReleaseSpec) {
		s.DependsOn = []meta.DependencyReference{{Name: "back"}}
	})
	harness.Create(t, cluster, front)
	got := harness.WaitForReason(t, cluster, front, meta.DependencyNotReadyReason)
	if len(got.Status.History) != 0 {
		t.Fatalf("released before its dependency: %+v", got.Status.History)
	}
	back := f.release("back", "*", nil)
	harness.Create(t, cluster, back)
	b := waitRelease(t, back, 1)
	fr := waitRelease(t, front, 1)
	if fr.Status.History.Latest().FirstDeployed.Before(&b.Status.History.Latest().LastDeployed) {
		t.Errorf("front deployed at %s, before back at %s", fr.Status.History.Latest().FirstDeployed, b.Status.History.Latest().LastDeployed)
	}
}

// While Helm waits for the release's objects, the HelmRelease says so
// (Ready=Unknown, Reconciling=True) instead of showing the previous outcome;
// when the wait times out, Ready=False says why.
func TestHelmRelease_ShowsTheActionInProgressWhileHelmWaits(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("waiting", "*", nil, func(s *helmv1.HelmReleaseSpec) {
		s.Timeout = every(20 * time.Second)
		// No node has this label: the Deployment never becomes available.
		s.PostRenderers = []helmv1.PostRenderer{{Kustomize: &helmv1.KustomizePostRenderer{
			Patches: []meta.Patch{{Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: waiting\nspec:\n  template:\n    spec:\n      nodeSelector:\n        tether.dev/no-such-node: \"true\"\n"}},
		}}}
	})
	harness.Create(t, cluster, hr)
	got := harness.WaitFor(t, cluster, hr, "Ready=Unknown install in progress", func(o *helmv1.HelmRelease) bool {
		c := meta.GetCondition(o, meta.ReadyCondition)
		return c != nil && c.Status == metav1.ConditionUnknown && strings.Contains(c.Message, "Helm install of release "+f.ns+"/waiting with chart app@1.0.0 in progress (timeout ")
	})
	if !meta.IsReconciling(got) {
		t.Errorf("Reconciling is not True during the install: %s", harness.Conditions(got))
	}
	readyFalse(t, hr, helmv1.InstallFailedReason, "Helm install of release "+f.ns+"/waiting")
}
