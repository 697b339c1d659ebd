package helmrelease

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// historyStatuses returns "v<version> <status>" of hr's status.history,
// newest first.
func historyStatuses(hr *helmv1.HelmRelease) string {
	var out []string
	for _, s := range hr.Status.History {
		out = append(out, fmt.Sprintf("v%d %s", s.Version, s.Status))
	}
	return strings.Join(out, ", ")
}

// noEvent checks that no event about hr has reason.
func noEvent(t *testing.T, hr *helmv1.HelmRelease, reason string) {
	t.Helper()
	for _, e := range events(t, hr) {
		if strings.HasPrefix(e, reason+":") {
			t.Errorf("unexpected event %s", e)
		}
	}
}

// With the RetryOnFailure strategy a failed install is left as it is (no
// uninstall, no stall) and tried again every retryInterval, so that it
// succeeds once what made it fail is gone, without a change of the spec.
func TestHelmRelease_RetryOnFailureRetriesAFailedInstallWithoutUninstalling(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	// The API server refuses the chart's Service while this quota exists.
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "no-services"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceServices: resource.MustParse("0")}}}
	harness.Create(t, cluster, quota)
	const retryInterval = 3 * time.Second
	hr := f.release("retried", "*", nil, func(s *helmv1.HelmReleaseSpec) {
		s.Install = &helmv1.Install{Strategy: &helmv1.InstallStrategy{Name: helmv1.RetryOnFailure, RetryInterval: every(retryInterval)}}
	})
	harness.Create(t, cluster, hr)

	harness.WaitFor(t, cluster, hr, "a failed install", func(o *helmv1.HelmRelease) bool { return o.Status.InstallFailures == 1 })
	first := time.Now()
	got := harness.WaitFor(t, cluster, hr, "a retried install", func(o *helmv1.HelmRelease) bool { return o.Status.InstallFailures >= 2 })
	if gap := time.Since(first); gap < retryInterval-500*time.Millisecond {
		t.Errorf("retried %v after the first failure, before retryInterval %v", gap.Round(time.Millisecond), retryInterval)
	}
	if c := meta.GetCondition(got, meta.ReadyCondition); c.Reason != helmv1.InstallFailedReason || !strings.Contains(c.Message, "no-services") {
		t.Errorf("Ready: %s", condition(got, meta.ReadyCondition))
	}
	if meta.IsStalled(got) || meta.GetCondition(got, meta.RemediatedCondition) != nil {
		t.Errorf("a failed install was given up on or remediated: %s", harness.Conditions(got))
	}
	// The failed release is kept to look at: its record and its objects.
	if s := got.Status.History.Latest(); s == nil || s.Status != "failed" {
		t.Errorf("history: %s", historyStatuses(got))
	}
	if secrets := releaseSecrets(t, f.ns, "retried"); len(secrets) == 0 {
		t.Error("the failed release's record was deleted")
	}
	configData(t, f.ns, "retried")
	noEvent(t, hr, helmv1.UninstallSucceededReason)

	if err := cluster.Client.Delete(context.Background(), quota); err != nil {
		t.Fatal(err)
	}
	got = harness.WaitFor(t, cluster, hr, "installed by a retry", func(o *helmv1.HelmRelease) bool {
		s := o.Status.History.Latest()
		return meta.IsReady(o) && s != nil && s.Status == "deployed"
	})
	if got.Status.InstallFailures != 0 || got.Generation != 1 {
		t.Errorf("after the retry: install failures %d, generation %d", got.Status.InstallFailures, got.Generation)
	}
	if !strings.HasPrefix(condition(got, meta.ReleasedCondition), "True InstallSucceeded") {
		t.Errorf("Released: %s", condition(got, meta.ReleasedCondition))
	}
}

// With the RetryOnFailure strategy a failed upgrade is not rolled back: it
// is tried again every retryInterval, however many times, until the spec is
// fixed.
func TestHelmRelease_RetryOnFailureRetriesAFailedUpgradeWithoutRollingBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("retryup", "*", map[string]any{"message": "good"}, func(s *helmv1.HelmReleaseSpec) {
		s.Upgrade = &helmv1.Upgrade{Strategy: &helmv1.UpgradeStrategy{Name: helmv1.RetryOnFailure, RetryInterval: every(2 * time.Second)}}
	})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)

	update(t, hr, func(s *helmv1.HelmReleaseSpec) { s.Values = jsonValues(map[string]any{"message": "bad", "fail": true}) })
	got := harness.WaitFor(t, cluster, hr, "a retried upgrade", func(o *helmv1.HelmRelease) bool { return o.Status.UpgradeFailures >= 2 })
	if c := meta.GetCondition(got, meta.ReadyCondition); c.Reason != helmv1.UpgradeFailedReason || !strings.Contains(c.Message, "Not_A_Valid_Name") {
		t.Errorf("Ready: %s", condition(got, meta.ReadyCondition))
	}
	if meta.IsStalled(got) || meta.GetCondition(got, meta.RemediatedCondition) != nil {
		t.Errorf("a failed upgrade was given up on or remediated: %s", harness.Conditions(got))
	}
	// Every attempt is a failed version over v1; none is a rollback.
	n := int(got.Status.UpgradeFailures)
	h := got.Status.History
	if len(h) < 3 || h[0].Version != n+1 || h[0].Status != "failed" || h[1].Status != "failed" || h[len(h)-1].Version != 1 {
		t.Errorf("after %d failed upgrades, history: %s", n, historyStatuses(got))
	}
	noEvent(t, hr, helmv1.RollbackSucceededReason)
	if d := configData(t, f.ns, "retryup"); d["message"] != "bad" {
		t.Errorf("the failed upgrade's ConfigMap was rolled back: %v", d)
	}

	update(t, hr, func(s *helmv1.HelmReleaseSpec) { s.Values = jsonValues(map[string]any{"message": "fixed"}) })
	got = harness.WaitFor(t, cluster, hr, "upgraded", func(o *helmv1.HelmRelease) bool {
		s := o.Status.History.Latest()
		return meta.IsReady(o) && o.Status.ObservedGeneration == o.Generation && s != nil && s.Status == "deployed"
	})
	if d := configData(t, f.ns, "retryup"); d["message"] != "fixed" || got.Status.UpgradeFailures != 0 {
		t.Errorf("after the fix: %v, upgrade failures %d", d, got.Status.UpgradeFailures)
	}
}

// The default remediation of upgrades (no retries) leaves a failed upgrade
// and stalls; with retries, each failure but the last is rolled back, and
// remediateLastFailure: false leaves the last one; a reset request starts
// the count over.
func TestHelmRelease_UpgradeRetriesCountAndRemediateLastFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("counted", "*", map[string]any{"message": "good"})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)

	update(t, hr, func(s *helmv1.HelmReleaseSpec) { s.Values = jsonValues(map[string]any{"message": "bad", "fail": true}) })
	got := harness.WaitFor(t, cluster, hr, "stalled after one failure", func(o *helmv1.HelmRelease) bool { return meta.IsStalled(o) })
	if got.Status.UpgradeFailures != 1 || historyStatuses(got) != "v2 failed, v1 deployed" || meta.GetCondition(got, meta.RemediatedCondition) != nil {
		t.Errorf("default remediation: upgrade failures %d, history %s, %s", got.Status.UpgradeFailures, historyStatuses(got), harness.Conditions(got))
	}

	// One retry, the last failure left as it is. A new spec counts anew.
	update(t, hr, func(s *helmv1.HelmReleaseSpec) {
		s.Upgrade = &helmv1.Upgrade{Remediation: &helmv1.UpgradeRemediation{Retries: 1, RemediateLastFailure: ptr(false)}}
	})
	got = harness.WaitFor(t, cluster, hr, "stalled after the retry", func(o *helmv1.HelmRelease) bool {
		return meta.IsStalled(o) && o.Status.ObservedGeneration == o.Generation && o.Status.UpgradeFailures == 2
	})
	// v3 failed, v4 rollback to v1, v5 failed and left.
	if h := historyStatuses(got); h != "v5 failed, v4 deployed, v3 failed, v2 failed, v1 superseded" {
		t.Errorf("history: %s", h)
	}
	if c := meta.GetCondition(got, meta.StalledCondition); c.Reason != helmv1.RetriesExceededReason {
		t.Errorf("Stalled: %s", condition(got, meta.StalledCondition))
	}
	if d := configData(t, f.ns, "counted"); d["message"] != "bad" {
		t.Errorf("the last failure was remediated: ConfigMap %v", d)
	}
	got = harness.ReconcileAndWait(t, cluster, hr)
	if got.Status.History.Latest().Version != 5 || got.Status.UpgradeFailures != 2 {
		t.Errorf("a stalled release was tried again: history %s, upgrade failures %d", historyStatuses(got), got.Status.UpgradeFailures)
	}

	// A reset request starts the count over: one more failure, rollback,
	// failure.
	v := meta.NewReconcileRequestValue(time.Now())
	cur := harness.Get(t, cluster, hr)
	patch := client.MergeFrom(cur.DeepCopy())
	cur.SetAnnotations(map[string]string{meta.ReconcileRequestAnnotation: v, helmv1.ResetRequestAnnotation: v})
	if err := cluster.Client.Patch(context.Background(), cur, patch); err != nil {
		t.Fatal(err)
	}
	got = harness.WaitFor(t, cluster, hr, "stalled after the reset", func(o *helmv1.HelmRelease) bool {
		return o.Status.LastHandledResetAt == v && meta.IsStalled(o) && o.Status.UpgradeFailures == 2
	})
	if s := got.Status.History.Latest(); s.Version != 8 || s.Status != "failed" {
		t.Errorf("after the reset, history: %s", historyStatuses(got))
	}
}

// uninstall.keepHistory keeps the release record, marked uninstalled, and a
// HelmRelease of the same name installs over it; deletionPropagation:
// orphan leaves the objects that the release's objects own.
func TestHelmRelease_UninstallKeepsHistoryAndOrphans(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("kept", "*", nil, func(s *helmv1.HelmReleaseSpec) {
		s.Uninstall = &helmv1.Uninstall{KeepHistory: true, DeletionPropagation: ptr("orphan")}
	})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)
	replicaSets := func() []appsv1.ReplicaSet {
		var list appsv1.ReplicaSetList
		if err := cluster.Client.List(context.Background(), &list, client.InNamespace(f.ns), client.MatchingLabels{"app.kubernetes.io/instance": "kept"}); err != nil {
			t.Fatal(err)
		}
		return list.Items
	}
	if len(replicaSets()) != 1 {
		t.Fatalf("the Deployment has %d ReplicaSets", len(replicaSets()))
	}

	if err := cluster.Client.Delete(context.Background(), hr); err != nil {
		t.Fatal(err)
	}
	waitGone(t, hr)
	waitGone(t, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "kept"}})
	testcluster.Eventually(t, 10*time.Second, 100*time.Millisecond, func() error {
		rs := replicaSets()
		if len(rs) != 1 || len(rs[0].OwnerReferences) != 0 || rs[0].DeletionTimestamp != nil {
			return fmt.Errorf("want the ReplicaSet orphaned, have %d ReplicaSets %v", len(rs), rs)
		}
		return nil
	})
	var record corev1.Secret
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: "sh.helm.release.v1.kept.v1"}, &record); err != nil {
		t.Fatalf("the release record: %v", err)
	}
	if s := record.Labels["status"]; s != "uninstalled" {
		t.Errorf("the release record's status %q", s)
	}

	again := f.release("kept", "*", nil)
	harness.Create(t, cluster, again)
	got := waitRelease(t, again, 2)
	if got.Status.History.Latest().Status != "deployed" {
		t.Errorf("history: %s", historyStatuses(got))
	}
	if secrets := releaseSecrets(t, f.ns, "kept"); len(secrets) != 2 {
		t.Errorf("release Secrets %v", secrets)
	}
}

// An upgrade that fails because its wait timed out is rolled back: the
// rollback has its own timeout, not what is left of the upgrade's, and the
// previous revision keeps serving.
func TestHelmRelease_UpgradeTimingOutIsRolledBackWithItsOwnTimeout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	rollback := helmv1.RollbackRemediationStrategy
	hr := f.release("slowup", "*", nil, func(s *helmv1.HelmReleaseSpec) {
		// The upgrade waits spec.timeout; the install and the rollback have
		// their own, longer, timeouts.
		s.Timeout = every(8 * time.Second)
		s.Install = &helmv1.Install{Timeout: every(2 * time.Minute)}
		s.Rollback = &helmv1.Rollback{Timeout: every(2 * time.Minute)}
		s.Upgrade = &helmv1.Upgrade{Remediation: &helmv1.UpgradeRemediation{Retries: 1, Strategy: &rollback}}
	})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)

	// No node has this label: the upgraded Deployment never becomes available.
	update(t, hr, func(s *helmv1.HelmReleaseSpec) {
		s.Values = jsonValues(map[string]any{"nodeSelector": map[string]any{"tether.dev/no-such-node": "true"}})
	})
	got := harness.WaitFor(t, cluster, hr, "upgrade retries exhausted", func(o *helmv1.HelmRelease) bool {
		return meta.IsStalled(o) && o.Status.UpgradeFailures == 2
	})
	if c := meta.GetCondition(got, meta.ReadyCondition); c.Status != metav1.ConditionFalse || c.Reason != helmv1.UpgradeFailedReason {
		t.Errorf("Ready: %s", condition(got, meta.ReadyCondition))
	}
	if !strings.HasPrefix(condition(got, meta.RemediatedCondition), "True RollbackSucceeded") {
		t.Errorf("Remediated: %s", condition(got, meta.RemediatedCondition))
	}
	// v1, v2 timed out, v3 rollback to v1, v4 timed out (the retry), v5 rollback to v1.
	if h := historyStatuses(got); h != "v5 deployed, v4 failed, v3 superseded, v2 failed, v1 superseded" {
		t.Errorf("history: %s", h)
	}
	if got.Status.Failures != 2 {
		t.Errorf("status.failures %d, want 2", got.Status.Failures)
	}
	waitEvent(t, hr, helmv1.RollbackSucceededReason, "to v1")
	testcluster.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		dep := deployment(t, f.ns, "slowup")
		if len(dep.Spec.Template.Spec.NodeSelector) != 0 {
			return errorf("the Deployment has the failed upgrade's node selector %v", dep.Spec.Template.Spec.NodeSelector)
		}
		for _, c := range dep.Status.Conditions {
			if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return errorf("the Deployment is not Available: %+v", dep.Status.Conditions)
	})
}
