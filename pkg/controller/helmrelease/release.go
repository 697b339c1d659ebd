package helmrelease

import (
	"context"
	"fmt"
	"strings"

	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/controller/lifecycle"
	"github.com/tether-gitops/tether/pkg/helm"
)

// maxSnapshots is how many release versions status.history keeps.
const maxSnapshots = 5

// release installs or upgrades, tests, and on failure remediates.
func (r *Reconciler) release(ctx context.Context, hr *helmv1.HelmRelease, runner *helm.Runner, act releaseAction, d desired, exists bool) error {
	var (
		rel                      *release.Release
		err                      error
		verb, okReason, koReason string
	)
	verb, okReason, koReason = "upgrade", helmv1.UpgradeSucceededReason, helmv1.UpgradeFailedReason
	if act == actInstall {
		verb, okReason, koReason = "install", helmv1.InstallSucceededReason, helmv1.InstallFailedReason
	}
	// Helm waits for the release's objects: say so now, not when it is over.
	timeout := hr.GetUpgrade().GetTimeout(hr.GetTimeout())
	if act == actInstall {
		timeout = hr.GetInstall().GetTimeout(hr.GetTimeout())
	}
	progress := fmt.Sprintf("Helm %s of release %s/%s with chart %s in progress (timeout %s)", verb, runner.Namespace(), runner.Name(), d, timeout)
	meta.MarkUnknown(hr, meta.ReadyCondition, meta.ProgressingReason, "%s", progress)
	meta.MarkTrue(hr, meta.ReconcilingCondition, meta.ProgressingReason, "%s", progress)
	if err := lifecycle.WriteStatus(ctx); err != nil {
		return err
	}
	// The newest version before the action: a failure that made none (the
	// chart did not render) must not take it for the desired state's.
	before := 0
	if last, _ := runner.Last(); last != nil {
		before = last.Version
	}
	if act == actInstall {
		rel, err = runner.Install(ctx, d.chart, d.values, helm.InstallOptionsFor(hr, exists))
	} else {
		rel, err = runner.Upgrade(ctx, d.chart, d.values, helm.UpgradeOptionsFor(hr))
	}
	if err != nil {
		return r.failed(ctx, hr, runner, act, d, before, fmt.Errorf("Helm %s of release %s/%s with chart %s failed: %w", verb, runner.Namespace(), runner.Name(), d, err), koReason)
	}
	msg := fmt.Sprintf("Helm %s succeeded for release %s/%s.v%d with chart %s", verb, rel.Namespace, rel.Name, rel.Version, d)
	meta.MarkTrue(hr, meta.ReleasedCondition, okReason, "%s", msg)
	r.Recorder.Eventf(hr, nil, corev1.EventTypeNormal, okReason, strings.ToUpper(verb[:1])+verb[1:], "%s", msg)
	log.FromContext(ctx).Info("released", "action", verb, "release", rel.Name, "version", rel.Version, "chart", d.String())

	if test := hr.GetTest(); test.Enable {
		if err := r.test(ctx, hr, runner, test); err != nil {
			ignore := test.IgnoreFailures
			if act == actInstall {
				ignore = hr.GetInstall().GetRemediation().MustIgnoreTestFailures(ignore)
			} else {
				ignore = hr.GetUpgrade().GetRemediation().MustIgnoreTestFailures(ignore)
			}
			if !ignore {
				return r.failed(ctx, hr, runner, act, d, before, err, helmv1.TestFailedReason)
			}
		}
	} else {
		meta.DeleteCondition(hr, meta.TestSuccessCondition)
	}
	hr.Status.ClearFailures()
	meta.DeleteCondition(hr, meta.RemediatedCondition)
	r.updateHistory(hr, runner, map[int]origin{rel.Version: d.origin()})
	hr.Status.ObservedPostRenderersDigest = postRenderersDigest(hr)
	lifecycle.Succeeded(hr, okReason, "%s", msg)
	return nil
}

// test runs the release's tests and records the outcome in TestSuccess.
func (r *Reconciler) test(ctx context.Context, hr *helmv1.HelmRelease, runner *helm.Runner, test helmv1.Test) error {
	rel, err := runner.Test(ctx, test.GetTimeout(hr.GetTimeout()))
	if err != nil {
		err = fmt.Errorf("Helm test of release %s/%s failed: %w", runner.Namespace(), runner.Name(), err)
		meta.MarkFalse(hr, meta.TestSuccessCondition, helmv1.TestFailedReason, "%s", err)
		r.Recorder.Eventf(hr, nil, corev1.EventTypeWarning, helmv1.TestFailedReason, "Test", "%s", err)
		return err
	}
	n := len(testHooks(rel))
	msg := fmt.Sprintf("Helm test succeeded for release %s/%s.v%d: %d test hooks", rel.Namespace, rel.Name, rel.Version, n)
	meta.MarkTrue(hr, meta.TestSuccessCondition, helmv1.TestSucceededReason, "%s", msg)
	r.Recorder.Eventf(hr, nil, corev1.EventTypeNormal, helmv1.TestSucceededReason, "Test", "%s", msg)
	return nil
}

// failed counts a failed install, upgrade or test and remediates as the
// spec says: uninstall a failed install, roll back (or uninstall) a failed
// upgrade, unless the failure left no new release version (the chart did not
// render, the values failed the schema) or it is the last failure and
// remediateLastFailure is off.
func (r *Reconciler) failed(ctx context.Context, hr *helmv1.HelmRelease, runner *helm.Runner, act releaseAction, d desired, before int, err error, reason string) error {
	st := &hr.Status
	st.Failures++
	var retryOnFailure, exhausted, remediateLast bool
	var retryInterval = hr.GetInterval()
	if act == actInstall {
		st.InstallFailures++
		in := hr.GetInstall()
		retryOnFailure = in.GetStrategy().Name == helmv1.RetryOnFailure
		retryInterval = in.GetStrategy().GetRetryInterval()
		exhausted = in.GetRemediation().RetriesExhausted(st.InstallFailures)
		remediateLast = in.GetRemediation().MustRemediateLastFailure()
	} else {
		st.UpgradeFailures++
		up := hr.GetUpgrade()
		retryOnFailure = up.GetStrategy().Name == helmv1.RetryOnFailure
		retryInterval = up.GetStrategy().GetRetryInterval()
		exhausted = up.GetRemediation().RetriesExhausted(st.UpgradeFailures)
		remediateLast = up.GetRemediation().MustRemediateLastFailure()
	}
	if reason != helmv1.TestFailedReason {
		meta.MarkFalse(hr, meta.ReleasedCondition, reason, "%s", err)
	}
	r.Recorder.Eventf(hr, nil, corev1.EventTypeWarning, reason, "Release", "%s", err)
	log.FromContext(ctx).Info("release failed", "reason", reason, "error", err.Error())

	// The version the action made (if it made one: newer than before) comes from the desired
	// state; a rollback's comes from the version it went back to, so that
	// the rolled-back release is not taken for the desired one.
	fresh := map[int]origin{}
	if last, _ := runner.Last(); last != nil && last.Version > before {
		fresh[last.Version] = d.origin()
	}
	if !retryOnFailure && (!exhausted || remediateLast) {
		if version, to := r.remediate(ctx, hr, runner, act); version != 0 {
			o := originOf(hr.Status.History, runner.Name(), to)
			if o.specDigest == "" {
				// Rolled back to a version whose spec is not known: it is
				// not the desired one, whatever the generation says.
				o.specDigest = unknownSpecDigest
			}
			fresh[version] = o
		}
	}
	r.updateHistory(hr, runner, fresh)
	switch {
	case retryOnFailure:
		lifecycle.Failed(hr, false, reason, "%s", err)
		hr.SetObservedGeneration(hr.GetGeneration())
		return lifecycle.RequeueAfter(lifecycle.Jitter(retryInterval))
	case exhausted:
		lifecycle.Failed(hr, false, reason, "%s", err)
		failures := st.InstallFailures
		if act == actUpgrade {
			failures = st.UpgradeFailures
		}
		r.stall(hr, fmt.Sprintf("retries exhausted after %d failures; change the spec or request a reset", failures))
		return lifecycle.RequeueAfter(lifecycle.Jitter(hr.GetInterval()))
	}
	lifecycle.Failed(hr, false, reason, "%s", err)
	hr.SetObservedGeneration(hr.GetGeneration())
	return lifecycle.RequeueAfter(r.retryDelay())
}

// remediate undoes a failed action when it left a failed release version.
// After a rollback it returns the version the rollback made and the one it
// went back to.
func (r *Reconciler) remediate(ctx context.Context, hr *helmv1.HelmRelease, runner *helm.Runner, act releaseAction) (version, to int) {
	last, err := runner.Last()
	if err != nil || last == nil || last.Info == nil {
		return 0, 0
	}
	failedTest := hasFailedTest(last)
	if last.Info.Status != rcommon.StatusFailed && !failedTest {
		return 0, 0 // nothing was released: nothing to undo
	}
	strategy := helmv1.UninstallRemediationStrategy
	if act == actUpgrade {
		strategy = hr.GetUpgrade().GetRemediation().GetStrategy()
	}
	if strategy == helmv1.RollbackRemediationStrategy {
		rb := hr.GetRollback()
		// The newest deployed version before the last one: the last is
		// either failed, or deployed with failed tests.
		prev, _ := runner.PreviousDeployed()
		if prev == nil {
			meta.MarkFalse(hr, meta.RemediatedCondition, helmv1.RollbackFailedReason, "no earlier successful version of release %s to roll back to", runner.Name())
			return 0, 0
		}
		err := runner.Rollback(ctx, helm.RollbackOptions{Version: prev.Version, Timeout: rb.GetTimeout(hr.GetTimeout()),
			DisableWait: rb.DisableWait, DisableHooks: rb.DisableHooks, Force: rb.Force, CleanupOnFail: rb.CleanupOnFail, MaxHistory: hr.GetMaxHistory()})
		if err != nil {
			msg := fmt.Sprintf("Helm rollback of release %s/%s to v%d failed: %s", runner.Namespace(), runner.Name(), prev.Version, err)
			meta.MarkFalse(hr, meta.RemediatedCondition, helmv1.RollbackFailedReason, "%s", msg)
			r.Recorder.Eventf(hr, nil, corev1.EventTypeWarning, helmv1.RollbackFailedReason, "Rollback", "%s", msg)
			return 0, 0
		}
		msg := fmt.Sprintf("Helm rollback of release %s/%s to v%d (chart %s@%s) succeeded", runner.Namespace(), runner.Name(), prev.Version, helm.ChartName(prev), helm.ChartVersion(prev))
		meta.MarkTrue(hr, meta.RemediatedCondition, helmv1.RollbackSucceededReason, "%s", msg)
		r.Recorder.Eventf(hr, nil, corev1.EventTypeNormal, helmv1.RollbackSucceededReason, "Rollback", "%s", msg)
		if rolled, err := runner.Last(); err == nil && rolled != nil {
			return rolled.Version, prev.Version
		}
		return 0, 0
	}
	un := hr.GetUninstall()
	err = runner.Uninstall(ctx, helm.UninstallOptions{Timeout: un.GetTimeout(hr.GetTimeout()), KeepHistory: un.KeepHistory,
		DisableHooks: un.DisableHooks, DisableWait: un.DisableWait, DeletionPropagation: un.GetDeletionPropagation()})
	if err != nil {
		msg := fmt.Sprintf("Helm uninstall of failed release %s/%s failed: %s", runner.Namespace(), runner.Name(), err)
		meta.MarkFalse(hr, meta.RemediatedCondition, helmv1.UninstallFailedReason, "%s", msg)
		r.Recorder.Eventf(hr, nil, corev1.EventTypeWarning, helmv1.UninstallFailedReason, "Uninstall", "%s", msg)
		return 0, 0
	}
	msg := fmt.Sprintf("Helm uninstall of failed release %s/%s succeeded", runner.Namespace(), runner.Name())
	meta.MarkTrue(hr, meta.RemediatedCondition, helmv1.UninstallSucceededReason, "%s", msg)
	r.Recorder.Eventf(hr, nil, corev1.EventTypeNormal, helmv1.UninstallSucceededReason, "Uninstall", "%s", msg)
	return 0, 0
}

// inSync is a reconcile with nothing to release: drift detection, then
// Ready.
func (r *Reconciler) inSync(ctx context.Context, hr *helmv1.HelmRelease, runner *helm.Runner, t *target, last *release.Release, d desired) error {
	dd := hr.GetDriftDetection()
	note := ""
	if dd.MustDetectChanges() {
		correct := dd.GetMode() == helmv1.DriftDetectionEnabled
		applied := r.applied.Of(client.ObjectKeyFromObject(hr), fmt.Sprintf("%s/%s.v%d %s", last.Namespace, last.Name, last.Version, helm.Digest(last)))
		report, err := helm.DetectDrift(ctx, t.client, last, helm.DriftOptions{Ignore: dd.Ignore, Correct: correct, Applied: applied})
		if err != nil {
			r.updateHistory(hr, runner, nil)
			return r.fail(ctx, hr, helmv1.DriftDetectedReason, err)
		}
		if n := len(report.Drifted); n > 0 {
			what := "corrected without a new Helm revision"
			if !correct {
				what = "not corrected (driftDetection.mode: warn)"
			}
			r.Recorder.Eventf(hr, nil, corev1.EventTypeWarning, helmv1.DriftDetectedReason, "DetectDrift",
				"release %s/%s.v%d: %d objects drifted, %s:\n%s", last.Namespace, last.Name, last.Version, n, what, report)
			log.FromContext(ctx).Info("drift detected", "release", last.Name, "corrected", correct, "objects", report.String())
			note = fmt.Sprintf("; drift of %d objects %s", n, what)
		}
	}
	r.updateHistory(hr, runner, nil)
	if s := hr.Status.History.Latest(); s != nil && s.Version == last.Version && s.SpecDigest == "" {
		// Recorded before spec digests were: decide took it as in sync.
		s.SpecDigest = d.specDigest
	}
	reason := meta.ReconciliationSucceededReason
	if c := meta.GetCondition(hr, meta.ReleasedCondition); c != nil && c.Status == metav1.ConditionTrue {
		reason = c.Reason
	}
	lifecycle.Succeeded(hr, reason, "Helm release %s/%s.v%d with chart %s@%s is in sync%s",
		last.Namespace, last.Name, last.Version, helm.ChartName(last), helm.ChartVersion(last), note)
	return nil
}

// origin is what a release version was made from, beyond what Helm records
// in it: the OCI digest of the chart's artifact, the digest of the spec
// fields that shape the release.
type origin struct {
	ociDigest, specDigest string
}

// unknownSpecDigest marks a version made from a spec that is not known, so
// that it never matches the desired one.
const unknownSpecDigest = "unknown"

// originOf returns the origin of version of release name as status.history
// records it; an empty one (unknown) when the history does not have it.
func originOf(history helmv1.Snapshots, name string, version int) origin {
	for _, s := range history {
		if s != nil && s.Name == name && s.Version == version {
			return snapshotOrigin(s)
		}
	}
	return origin{}
}

func snapshotOrigin(s *helmv1.Snapshot) origin {
	return origin{ociDigest: s.OCIDigest, specDigest: s.SpecDigest}
}

// updateHistory records the newest release versions in status.history. A
// version that status.history has keeps its origin; a new one takes its
// origin from fresh.
func (r *Reconciler) updateHistory(hr *helmv1.HelmRelease, runner *helm.Runner, fresh map[int]origin) {
	hist, err := runner.History()
	if err != nil {
		return
	}
	prev := map[int]*helmv1.Snapshot{}
	for _, s := range hr.Status.History {
		if s != nil && s.Name == runner.Name() {
			prev[s.Version] = s
		}
	}
	out := make(helmv1.Snapshots, 0, maxSnapshots)
	for i, rel := range hist {
		if i == maxSnapshots {
			break
		}
		s := snapshot(rel)
		o := fresh[rel.Version]
		if p := prev[rel.Version]; p != nil {
			o = snapshotOrigin(p)
		}
		s.OCIDigest, s.SpecDigest = o.ociDigest, o.specDigest
		out = append(out, s)
	}
	hr.Status.History = out
}

func snapshot(rel *release.Release) *helmv1.Snapshot {
	s := &helmv1.Snapshot{
		Digest:       helm.Digest(rel),
		Name:         rel.Name,
		Namespace:    rel.Namespace,
		Version:      rel.Version,
		ChartName:    helm.ChartName(rel),
		ChartVersion: helm.ChartVersion(rel),
		AppVersion:   helm.AppVersion(rel),
		ConfigDigest: helm.ValuesDigest(rel.Config),
	}
	if info := rel.Info; info != nil {
		s.Status = string(info.Status)
		s.FirstDeployed = metav1.NewTime(info.FirstDeployed)
		s.LastDeployed = metav1.NewTime(info.LastDeployed)
		if !info.Deleted.IsZero() {
			s.Deleted = metav1.NewTime(info.Deleted)
		}
	}
	if hooks := testHooks(rel); len(hooks) > 0 {
		m := map[string]*helmv1.TestHookStatus{}
		for _, h := range hooks {
			if h.LastRun.StartedAt.IsZero() {
				continue
			}
			m[h.Kind+"/"+h.Name] = &helmv1.TestHookStatus{
				LastStarted:   metav1.NewTime(h.LastRun.StartedAt),
				LastCompleted: metav1.NewTime(h.LastRun.CompletedAt),
				Phase:         string(h.LastRun.Phase),
			}
		}
		if len(m) > 0 {
			s.TestHooks = &m
		}
	}
	return s
}

func testHooks(rel *release.Release) []*release.Hook {
	if rel == nil {
		return nil
	}
	var out []*release.Hook
	for _, h := range rel.Hooks {
		for _, e := range h.Events {
			if e == release.HookTest {
				out = append(out, h)
				break
			}
		}
	}
	return out
}

func hasFailedTest(rel *release.Release) bool {
	for _, h := range testHooks(rel) {
		if h.LastRun.Phase == release.HookPhaseFailed {
			return true
		}
	}
	return false
}

func postRenderersDigest(hr *helmv1.HelmRelease) string {
	if len(hr.Spec.PostRenderers) == 0 {
		return ""
	}
	return helm.ValuesDigest(map[string]any{"postRenderers": postRenderers(hr)})
}

// postRenderers is spec.postRenderers as plain data, for digests.
func postRenderers(hr *helmv1.HelmRelease) []map[string]any {
	var m []map[string]any
	for _, p := range hr.Spec.PostRenderers {
		if p.Kustomize != nil {
			m = append(m, map[string]any{"patches": p.Kustomize.Patches, "images": p.Kustomize.Images})
		}
	}
	return m
}
