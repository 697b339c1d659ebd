package helmrelease

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/testserver/chartrepo"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

func TestHelmRelease_InstallsUpgradesOnValuesAndNewVersionsAndUninstallsOnDelete(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("web", "1.x", map[string]any{"message": "one"})
	start := time.Now()
	harness.Create(t, cluster, hr)

	got := waitRelease(t, hr, 1)
	t.Logf("installed in %v", time.Since(start).Round(time.Millisecond))
	if d := configData(t, f.ns, "web"); d["message"] != "one" || d["chartVersion"] != "1.0.0" {
		t.Errorf("ConfigMap data %v", d)
	}
	if dep := deployment(t, f.ns, "web"); dep.Status.AvailableReplicas != 1 {
		t.Errorf("Helm waited for the Deployment, yet it has %d available replicas", dep.Status.AvailableReplicas)
	}
	s := got.Status.History.Latest()
	if s.ChartName != "app" || s.ChartVersion != "1.0.0" || s.Status != "deployed" || s.Digest == "" || s.ConfigDigest == "" {
		t.Errorf("history[0] = %+v", s)
	}
	if !strings.HasPrefix(condition(got, meta.ReleasedCondition), "True InstallSucceeded") {
		t.Errorf("Released: %s", condition(got, meta.ReleasedCondition))
	}
	if got.Status.LastAttemptedRevision != "1.0.0" || got.Status.LastAttemptedValuesChecksum == "" ||
		got.Status.HelmChart != f.ns+"/"+f.ns+"-web" || got.Status.StorageNamespace != f.ns {
		t.Errorf("status: %+v", got.Status)
	}
	if secrets := releaseSecrets(t, f.ns, "web"); len(secrets) != 1 || secrets[0] != "sh.helm.release.v1.web.v1" {
		t.Errorf("release Secrets %v", secrets)
	}
	waitEvent(t, hr, helmv1.InstallSucceededReason, "app@1.0.0")

	// Changing the values upgrades.
	update(t, hr, func(s *helmv1.HelmReleaseSpec) { s.Values = jsonValues(map[string]any{"message": "two"}) })
	waitRelease(t, hr, 2)
	if d := configData(t, f.ns, "web"); d["message"] != "two" {
		t.Errorf("after a values change, ConfigMap data %v", d)
	}

	// A new version in the range upgrades, through the HelmChart.
	publish(t, f.srv, "app", "1.1.0", chartOpts{})
	publish(t, f.srv, "app", "2.0.0", chartOpts{})
	got = waitRelease(t, hr, 3)
	if s := got.Status.History.Latest(); s.ChartVersion != "1.1.0" || got.Status.LastAttemptedRevision != "1.1.0" {
		t.Errorf("after publishing 1.1.0: history[0] %s, last attempted %s", s.ChartVersion, got.Status.LastAttemptedRevision)
	}
	if d := configData(t, f.ns, "web"); d["chartVersion"] != "1.1.0" || d["message"] != "two" {
		t.Errorf("ConfigMap data %v", d)
	}
	if n := len(got.Status.History); n != 3 || got.Status.History[1].Status != "superseded" {
		t.Errorf("history: %d entries, [1] %+v", n, got.Status.History[1])
	}

	// A reconcile with nothing new makes no revision.
	got = harness.ReconcileAndWait(t, cluster, hr)
	if s := got.Status.History.Latest(); s.Version != 3 || !meta.IsReady(got) {
		t.Errorf("a no-change reconcile: v%d, %s", s.Version, harness.Conditions(got))
	}

	// Deleting the HelmRelease uninstalls the release and its HelmChart.
	if err := cluster.Client.Delete(context.Background(), hr); err != nil {
		t.Fatal(err)
	}
	waitGone(t, hr)
	waitGone(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "web-config"}})
	waitGone(t, &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: f.ns + "-web"}})
	if secrets := releaseSecrets(t, f.ns, "web"); len(secrets) != 0 {
		t.Errorf("release Secrets left after uninstall: %v", secrets)
	}
}

func TestHelmRelease_ValuesFromConfigMapsAndSecretsInOrderAndTheirChangesUpgrade(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	harness.Create(t, cluster, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "base"},
		Data: map[string]string{"values.yaml": "message: from-configmap\nextra: base\n"}})
	secret := harness.CreateSecret(t, cluster, f.ns, "overrides", map[string][]byte{"msg": []byte("from-secret")})
	hr := f.release("vf", "*", map[string]any{"extra": "from-spec"}, func(s *helmv1.HelmReleaseSpec) {
		s.ValuesFrom = []helmv1.ValuesReference{
			{Kind: "ConfigMap", Name: "base"},
			{Kind: "Secret", Name: "overrides", ValuesKey: "msg", TargetPath: "message"},
			{Kind: "Secret", Name: "absent", Optional: true},
		}
	})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)
	if d := configData(t, f.ns, "vf"); d["message"] != "from-secret" || d["extra"] != "from-spec" {
		t.Errorf("ConfigMap data %v: want the Secret over the ConfigMap and spec.values over both", d)
	}

	// A change of a referenced Secret is watched and upgrades.
	start := time.Now()
	secret.Data = map[string][]byte{"msg": []byte("rotated")}
	if err := cluster.Client.Update(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	waitRelease(t, hr, 2)
	t.Logf("upgraded %v after the Secret changed", time.Since(start).Round(time.Millisecond))
	if d := configData(t, f.ns, "vf"); d["message"] != "rotated" {
		t.Errorf("after the Secret changed, ConfigMap data %v", d)
	}
}

func TestHelmRelease_RevertsAnEditOfItsDeploymentWithoutANewRevision(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("drift", "*", nil)
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)
	// A first check finds the objects in line and remembers them; the next
	// one must still see what changes after.
	harness.ReconcileAndWait(t, cluster, hr)

	// As `kubectl edit` would: an update by another field manager.
	dep := deployment(t, f.ns, "drift")
	five := int32(5)
	dep.Spec.Replicas = &five
	if err := cluster.Client.Update(context.Background(), dep, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Client.Delete(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "drift"}}); err != nil {
		t.Fatal(err)
	}
	harness.ReconcileAndWait(t, cluster, hr)
	testcluster.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		if r := *deployment(t, f.ns, "drift").Spec.Replicas; r != 1 {
			return errorf("replicas %d, want 1", r)
		}
		return cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: "drift"}, &corev1.ServiceAccount{})
	})
	got := harness.Get(t, cluster, hr)
	if s := got.Status.History.Latest(); s.Version != 1 || len(releaseSecrets(t, f.ns, "drift")) != 1 {
		t.Errorf("drift correction made a new revision: v%d, Secrets %v", s.Version, releaseSecrets(t, f.ns, "drift"))
	}
	e := waitEvent(t, hr, helmv1.DriftDetectedReason, "Deployment/"+f.ns+"/drift changed: spec.replicas", "ServiceAccount/"+f.ns+"/drift deleted")
	t.Logf("event: %s", e)
	// Helm's ownership metadata is kept.
	if l := deployment(t, f.ns, "drift").Labels["app.kubernetes.io/managed-by"]; l != "Helm" {
		t.Errorf("managed-by label %q after the correction", l)
	}

	// In warn mode the drift is reported, not corrected.
	update(t, hr, func(s *helmv1.HelmReleaseSpec) {
		s.DriftDetection = &helmv1.DriftDetection{Mode: helmv1.DriftDetectionWarn}
	})
	waitRelease(t, hr, 1) // driftDetection does not shape the release: no new revision
	dep = deployment(t, f.ns, "drift")
	dep.Spec.Replicas = &five
	if err := cluster.Client.Update(context.Background(), dep, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	harness.ReconcileAndWait(t, cluster, hr)
	waitEvent(t, hr, helmv1.DriftDetectedReason, "not corrected")
	if r := *deployment(t, f.ns, "drift").Spec.Replicas; r != 5 {
		t.Errorf("warn mode changed replicas to %d", r)
	}
}

// Only a change of what Helm renders or how the release is made upgrades it:
// not the interval, nor a suspend and resume.
func TestHelmRelease_OnlySpecChangesThatShapeTheReleaseUpgradeIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("shaped", "*", nil)
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)

	update(t, hr, func(s *helmv1.HelmReleaseSpec) { s.Interval = every(2 * time.Minute) })
	got := waitRelease(t, hr, 1)
	if got.Generation != 2 {
		t.Fatalf("generation %d after the interval change", got.Generation)
	}
	harness.SetSuspend(t, cluster, hr, true)
	harness.SetSuspend(t, cluster, hr, false)
	got = waitRelease(t, hr, 1)
	if got.Generation != 4 {
		t.Fatalf("generation %d after suspend and resume", got.Generation)
	}
	if s := releaseSecrets(t, f.ns, "shaped"); len(s) != 1 {
		t.Errorf("release Secrets %v, want only v1", s)
	}
	noEvent(t, hr, helmv1.UpgradeSucceededReason)

	update(t, hr, func(s *helmv1.HelmReleaseSpec) {
		s.PostRenderers = []helmv1.PostRenderer{{Kustomize: &helmv1.KustomizePostRenderer{Images: []meta.Image{{Name: "registry.example/app", NewTag: "2.0"}}}}}
	})
	got = waitRelease(t, hr, 2)
	if img := deployment(t, f.ns, "shaped").Spec.Template.Spec.Containers[0].Image; img != "registry.example/app:2.0" {
		t.Errorf("image %s after the post-renderer change", img)
	}
	if s := got.Status.History.Latest(); s.SpecDigest == "" || s.SpecDigest != got.Status.LastAttemptedSpecDigest || s.SpecDigest == got.Status.History[1].SpecDigest {
		t.Errorf("spec digests: history %s / %s, lastAttempted %s", s.SpecDigest, got.Status.History[1].SpecDigest, got.Status.LastAttemptedSpecDigest)
	}
}

func TestHelmRelease_FailingUpgradeRollsBackAndThePreviousRevisionKeepsServing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("rb", "*", map[string]any{"message": "good"}, func(s *helmv1.HelmReleaseSpec) {
		s.Upgrade = &helmv1.Upgrade{Remediation: &helmv1.UpgradeRemediation{Retries: 1}}
	})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)

	update(t, hr, func(s *helmv1.HelmReleaseSpec) { s.Values = jsonValues(map[string]any{"message": "bad", "fail": true}) })
	got := harness.WaitFor(t, cluster, hr, "retries exhausted", func(o *helmv1.HelmRelease) bool {
		return meta.IsStalled(o) && o.Status.UpgradeFailures == 2
	})
	if c := meta.GetCondition(got, meta.ReadyCondition); c.Status != metav1.ConditionFalse || c.Reason != helmv1.UpgradeFailedReason ||
		!strings.Contains(c.Message, "Not_A_Valid_Name") {
		t.Errorf("Ready: %s", condition(got, meta.ReadyCondition))
	}
	if !strings.HasPrefix(condition(got, meta.RemediatedCondition), "True RollbackSucceeded") {
		t.Errorf("Remediated: %s", condition(got, meta.RemediatedCondition))
	}
	// v1 good, v2 failed, v3 rollback to v1, v4 failed retry, v5 rollback to v1.
	if s := got.Status.History.Latest(); s.Version != 5 || s.Status != "deployed" || got.Status.History[1].Status != "failed" {
		t.Errorf("history: %+v / %+v", s, got.Status.History[1])
	}
	if d := configData(t, f.ns, "rb"); d["message"] != "good" {
		t.Errorf("the previous revision's ConfigMap: %v", d)
	}
	waitEvent(t, hr, helmv1.RollbackSucceededReason, "to v1")

	// Fixing the values releases again.
	update(t, hr, func(s *helmv1.HelmReleaseSpec) { s.Values = jsonValues(map[string]any{"message": "fixed"}) })
	got = waitRelease(t, hr, 6)
	if d := configData(t, f.ns, "rb"); d["message"] != "fixed" || got.Status.UpgradeFailures != 0 || meta.GetCondition(got, meta.RemediatedCondition) != nil {
		t.Errorf("after the fix: %v, failures %d, %s", d, got.Status.UpgradeFailures, harness.Conditions(got))
	}
}

func TestHelmRelease_RunsTestHooks(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{testHook: true})
	hr := f.release("tested", "*", nil, func(s *helmv1.HelmReleaseSpec) { s.Test = &helmv1.Test{Enable: true} })
	harness.Create(t, cluster, hr)
	got := waitRelease(t, hr, 1)
	if !strings.HasPrefix(condition(got, meta.TestSuccessCondition), "True TestSucceeded") {
		t.Errorf("TestSuccess: %s", condition(got, meta.TestSuccessCondition))
	}
	s := got.Status.History.Latest()
	if s.TestHooks == nil || len(*s.TestHooks) != 1 || !s.HasTestInPhase("Succeeded") {
		t.Fatalf("test hooks in history: %+v", s.TestHooks)
	}
	for name, h := range *s.TestHooks {
		if name != "Job/tested-smoke" || h.LastCompleted.IsZero() {
			t.Errorf("test hook %s: %+v", name, h)
		}
	}
	waitEvent(t, hr, helmv1.TestSucceededReason, "1 test hooks")
}

func TestHelmRelease_ChartFromAGitRepositoryPath(t *testing.T) {
	t.Parallel()
	reconciler.LogOnFailure(t)
	ns := testcluster.NewNamespace(t, cluster)
	git := gitserver.NewHTTP(t)
	files := map[string]string{}
	for rel, content := range chartFiles("app", "0.3.0", chartOpts{}) {
		files["charts/app/"+rel] = content
	}
	gitserver.InitRepo(t, git.Root(), "infra", files)
	harness.Create(t, cluster, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "infra"},
		Spec: sourcev1.GitRepositorySpec{URL: git.URL("infra"), Interval: every(2 * time.Second)}})
	hr := &helmv1.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fromgit"}, Spec: helmv1.HelmReleaseSpec{
		Interval: every(time.Minute),
		Chart: &helmv1.HelmChartTemplate{Spec: helmv1.HelmChartTemplateSpec{Chart: "./charts/app",
			SourceRef: meta.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "infra"}}},
		Values: jsonValues(map[string]any{"message": "git"}),
	}}
	harness.Create(t, cluster, hr)
	got := waitRelease(t, hr, 1)
	if s := got.Status.History.Latest(); s.ChartVersion != "0.3.0" {
		t.Errorf("history[0] %+v", s)
	}
	if d := configData(t, ns, "fromgit"); d["message"] != "git" {
		t.Errorf("ConfigMap data %v", d)
	}
}

func TestHelmRelease_ChartFromAnOCIHelmRepository(t *testing.T) {
	t.Parallel()
	reconciler.LogOnFailure(t)
	ns := testcluster.NewNamespace(t, cluster)
	reg := chartrepo.NewRegistry(t)
	reg.Push("app", "1.0.0")
	reg.Push("app", "1.2.0")
	harness.Create(t, cluster, &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "oci"},
		Spec: sourcev1.HelmRepositorySpec{URL: reg.URL(), Type: sourcev1.HelmRepositoryTypeOCI, Insecure: true, Interval: every(2 * time.Second)}})
	hr := &helmv1.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fromoci"}, Spec: helmv1.HelmReleaseSpec{
		Interval: every(time.Minute),
		Chart: &helmv1.HelmChartTemplate{Spec: helmv1.HelmChartTemplateSpec{Chart: "app", Version: "1.x", Interval: every(2 * time.Second),
			SourceRef: meta.CrossNamespaceSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "oci"}}},
		Values: jsonValues(map[string]any{"message": "oci"}),
	}}
	harness.Create(t, cluster, hr)
	got := waitRelease(t, hr, 1)
	if s := got.Status.History.Latest(); s.ChartVersion != "1.2.0" {
		t.Errorf("history[0] %+v", s)
	}
	var cm corev1.ConfigMap
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "fromoci-config"}, &cm); err != nil || cm.Data["message"] != "oci" {
		t.Errorf("ConfigMap: %v %v", cm.Data, err)
	}
	reg.Push("app", "1.3.0")
	got = waitRelease(t, hr, 2)
	if s := got.Status.History.Latest(); s.ChartVersion != "1.3.0" {
		t.Errorf("after pushing 1.3.0: history[0] %+v", s)
	}
}

func TestHelmRelease_AKustomizationThatDependsOnItWaitsForIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	git := gitserver.NewHTTP(t)
	gitserver.InitRepo(t, git.Root(), "cfg", map[string]string{
		"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after-helm\n  namespace: " + f.ns + "\ndata:\n  k: v\n"})
	harness.Create(t, cluster, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "cfg"},
		Spec: sourcev1.GitRepositorySpec{URL: git.URL("cfg"), Interval: every(2 * time.Second)}})
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "after"}, Spec: kustomizev1.KustomizationSpec{
		Interval:  every(time.Minute),
		Prune:     true,
		SourceRef: meta.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "cfg"},
		DependsOn: []meta.DependencyReference{{Kind: helmv1.HelmReleaseKind, Name: "base"}},
	}}
	harness.Create(t, cluster, ks)
	harness.WaitForReason(t, cluster, ks, meta.DependencyNotReadyReason)
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: "after-helm"}, &corev1.ConfigMap{}); err == nil {
		t.Fatal("the Kustomization applied before its HelmRelease exists")
	}

	hr := f.release("base", "*", nil)
	harness.Create(t, cluster, hr)
	got := waitRelease(t, hr, 1)
	k := harness.WaitReady(t, cluster, ks)
	if !k.Status.Conditions[0].LastTransitionTime.After(got.Status.History.Latest().LastDeployed.Time.Add(-time.Second)) {
		t.Errorf("the Kustomization became ready before the release was deployed")
	}
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: "after-helm"}, &corev1.ConfigMap{}); err != nil {
		t.Errorf("the Kustomization's ConfigMap: %v", err)
	}
}

func TestHelmRelease_FailingInstallIsUninstalledAndRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("inst", "*", map[string]any{"fail": true}, func(s *helmv1.HelmReleaseSpec) {
		s.Install = &helmv1.Install{Remediation: &helmv1.InstallRemediation{Retries: 1}}
	})
	harness.Create(t, cluster, hr)
	got := harness.WaitFor(t, cluster, hr, "install retries exhausted", func(o *helmv1.HelmRelease) bool {
		return meta.IsStalled(o) && o.Status.InstallFailures == 2
	})
	if c := meta.GetCondition(got, meta.ReadyCondition); c.Reason != helmv1.InstallFailedReason || !strings.Contains(c.Message, "Not_A_Valid_Name") {
		t.Errorf("Ready: %s", condition(got, meta.ReadyCondition))
	}
	if c := meta.GetCondition(got, meta.StalledCondition); c.Reason != helmv1.RetriesExceededReason {
		t.Errorf("Stalled: %s", condition(got, meta.StalledCondition))
	}
	// The first failure was uninstalled, the last one is left to look at.
	waitEvent(t, hr, helmv1.UninstallSucceededReason, "failed release")
	if s := got.Status.History.Latest(); s == nil || s.Status != "failed" {
		t.Errorf("history[0] %+v", s)
	}

	update(t, hr, func(s *helmv1.HelmReleaseSpec) { s.Values = jsonValues(map[string]any{"message": "works"}) })
	got = harness.WaitFor(t, cluster, hr, "installed", func(o *helmv1.HelmRelease) bool {
		s := o.Status.History.Latest()
		return meta.IsReady(o) && o.Status.ObservedGeneration == o.Generation && s != nil && s.Status == "deployed"
	})
	if d := configData(t, f.ns, "inst"); d["message"] != "works" || got.Status.InstallFailures != 0 || meta.IsStalled(got) {
		t.Errorf("after the fix: %v, %+v", d, got.Status)
	}
}

func TestHelmRelease_FailingTestsRollBackUnlessIgnored(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{hangingTest: true})
	hr := f.release("tests", "*", map[string]any{"message": "v1"}, func(s *helmv1.HelmReleaseSpec) {
		s.Upgrade = &helmv1.Upgrade{Remediation: &helmv1.UpgradeRemediation{RemediateLastFailure: ptr(true)}}
	})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)

	// Tests that ignore failures: released, TestSuccess=False. Enabling
	// tests alone makes no new revision: the values change does.
	update(t, hr, func(s *helmv1.HelmReleaseSpec) {
		s.Test = &helmv1.Test{Enable: true, Timeout: every(2 * time.Second), IgnoreFailures: true}
		s.Values = jsonValues(map[string]any{"message": "v2"})
	})
	got := waitRelease(t, hr, 2)
	if !strings.HasPrefix(condition(got, meta.TestSuccessCondition), "False TestFailed") {
		t.Errorf("TestSuccess: %s", condition(got, meta.TestSuccessCondition))
	}

	// Failures not ignored: the upgrade is rolled back.
	update(t, hr, func(s *helmv1.HelmReleaseSpec) {
		s.Test.IgnoreFailures = false
		s.Values = jsonValues(map[string]any{"message": "v3"})
	})
	got = harness.WaitFor(t, cluster, hr, "rolled back after failed tests", func(o *helmv1.HelmRelease) bool {
		return meta.IsStalled(o) && meta.IsTrue(o, meta.RemediatedCondition)
	})
	if c := meta.GetCondition(got, meta.ReadyCondition); c.Reason != helmv1.TestFailedReason {
		t.Errorf("Ready: %s", condition(got, meta.ReadyCondition))
	}
	if s := got.Status.History.Latest(); s.Version != 4 || s.Status != "deployed" {
		t.Errorf("history[0] %+v", s)
	}
	if d := configData(t, f.ns, "tests"); d["message"] != "v2" { // v4 is the rollback to v2
		t.Errorf("ConfigMap after the rollback: %v", d)
	}
}

func ptr[T any](v T) *T { return &v }

// A change of spec.chart.spec.valuesFiles packages the chart again with the
// same version and other default values: the release is upgraded to them.
func TestHelmRelease_ValuesFilesChangeUpgrades(t *testing.T) {
	t.Parallel()
	reconciler.LogOnFailure(t)
	ns := testcluster.NewNamespace(t, cluster)
	git := gitserver.NewHTTP(t)
	files := map[string]string{"env/staging.yaml": "message: from-staging\n", "env/prod.yaml": "message: from-prod\n"}
	for rel, content := range chartFiles("app", "0.3.0", chartOpts{}) {
		files["charts/app/"+rel] = content
	}
	gitserver.InitRepo(t, git.Root(), "infra", files)
	harness.Create(t, cluster, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "infra"},
		Spec: sourcev1.GitRepositorySpec{URL: git.URL("infra"), Interval: every(2 * time.Second)}})
	hr := &helmv1.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "envs"}, Spec: helmv1.HelmReleaseSpec{
		Interval: every(time.Minute),
		Chart: &helmv1.HelmChartTemplate{Spec: helmv1.HelmChartTemplateSpec{Chart: "./charts/app", Interval: every(2 * time.Second),
			ValuesFiles: []string{"env/staging.yaml"},
			SourceRef:   meta.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "infra"}}},
	}}
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)
	if d := configData(t, ns, "envs"); d["message"] != "from-staging" {
		t.Fatalf("ConfigMap data %v, want the staging values file", d)
	}

	update(t, hr, func(s *helmv1.HelmReleaseSpec) { s.Chart.Spec.ValuesFiles = []string{"env/prod.yaml"} })
	got := waitRelease(t, hr, 2)
	if s := got.Status.History.Latest(); s.ChartVersion != "0.3.0" {
		t.Errorf("history[0] %+v, want the same chart version", s)
	}
	if d := configData(t, ns, "envs"); d["message"] != "from-prod" {
		t.Errorf("ConfigMap data %v, want the prod values file", d)
	}
}
