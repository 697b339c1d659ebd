package helmrelease

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/go-logr/logr"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/controller/consumer"
	"github.com/tether-gitops/tether/pkg/controller/lifecycle"
	"github.com/tether-gitops/tether/pkg/helm"
)

// desired is what the release must be: a chart with values, released as
// the spec says (specDigest), for a spec generation.
type desired struct {
	chart        *chart.Chart
	values       map[string]any
	valuesDigest string
	ociDigest    string
	specDigest   string
	generation   int64
}

// origin is what a release version made for d comes from.
func (d desired) origin() origin { return origin{ociDigest: d.ociDigest, specDigest: d.specDigest} }

func (d desired) String() string {
	return fmt.Sprintf("%s@%s", d.chart.Name(), d.chart.Metadata.Version)
}

// releaseAction is what a reconcile does to the Helm release.
type releaseAction int

const (
	actNone releaseAction = iota
	actInstall
	actUpgrade
)

// reconcile: dependencies ready → chart artifact → chart → values → Helm
// client → recover a pending release → decide → install | upgrade | (in
// sync: drift detection) → test → remediate on failure → status.
func (r *Reconciler) reconcile(ctx context.Context, hr *helmv1.HelmRelease) error {
	if err := r.checkAccess(hr); err != nil {
		return r.fail(ctx, hr, meta.AccessDeniedReason, err)
	}
	if err := r.checkDependencies(ctx, hr); err != nil {
		return r.fail(ctx, hr, meta.DependencyNotReadyReason, err)
	}
	if hr.HasChartTemplate() {
		written, err := r.ensureHelmChart(ctx, hr)
		if err != nil {
			return r.fail(ctx, hr, meta.ArtifactFailedReason, err)
		}
		if written {
			// The watch on the HelmChart brings the HelmRelease back once
			// the chart of the new spec is resolved (or fails to be).
			lifecycle.Progressing(hr, "waiting for HelmChart %s to resolve the chart of spec.chart", hr.Status.HelmChart)
			return lifecycle.RequeueAfter(lifecycle.Jitter(hr.GetInterval()))
		}
	} else if err := r.deleteHelmChart(ctx, hr); err != nil {
		return r.fail(ctx, hr, meta.ArtifactFailedReason, err)
	}
	ca, err := r.chart(ctx, hr)
	if err != nil {
		return r.fail(ctx, hr, meta.ArtifactFailedReason, err)
	}
	ch, err := r.load(ca)
	if err != nil {
		return r.fail(ctx, hr, meta.ArtifactFailedReason, err)
	}
	specValues, err := hr.GetValues()
	if err != nil {
		return r.fail(ctx, hr, helmv1.ValuesFromFailedReason, fmt.Errorf("spec.values: %w", err))
	}
	values, err := helm.ComposeValues(ctx, r.Client, hr.Namespace, hr.Spec.ValuesFrom, specValues)
	if err != nil {
		return r.fail(ctx, hr, helmv1.ValuesFromFailedReason, err)
	}
	d := desired{chart: ch, values: values, valuesDigest: helm.ValuesDigest(values), ociDigest: ca.ociDigest,
		specDigest: specDigest(hr), generation: hr.Generation}

	t, err := r.clients.forRelease(ctx, r.Client, hr, r.serviceAccount(hr))
	if err != nil {
		return r.fail(ctx, hr, helmv1.InitFailedReason, err)
	}
	if err := r.uninstallMoved(ctx, hr, t); err != nil {
		return r.fail(ctx, hr, helmv1.UninstallFailedReason, err)
	}
	runner, err := r.runner(ctx, hr, t)
	if err != nil {
		return r.fail(ctx, hr, helmv1.InitFailedReason, err)
	}
	if from, err := runner.RecoverPending(); err != nil {
		return r.fail(ctx, hr, helmv1.GetLastReleaseFailedReason, err)
	} else if from != "" {
		r.Recorder.Eventf(hr, nil, corev1.EventTypeWarning, "PendingReleaseRecovered", "Recover",
			"release %s was left %s (an action was interrupted): marked failed", runner.Name(), from)
	}
	last, err := runner.Last()
	if err != nil {
		return r.fail(ctx, hr, helmv1.GetLastReleaseFailedReason, err)
	}
	hist, err := runner.History()
	if err != nil {
		return r.fail(ctx, hr, helmv1.GetLastReleaseFailedReason, err)
	}

	force := r.handleRequests(hr)
	act := decide(hr, last, hist, d, force)
	r.recordAttempt(hr, d, act)
	if act == actNone {
		return r.inSync(ctx, hr, runner, t, last, d)
	}
	if msg, exhausted := retriesExhausted(hr, act); exhausted {
		r.updateHistory(hr, runner, nil)
		r.stall(hr, msg)
		return lifecycle.RequeueAfter(lifecycle.Jitter(hr.GetInterval()))
	}
	return r.release(ctx, hr, runner, act, d, last != nil)
}

func (r *Reconciler) runner(ctx context.Context, hr *helmv1.HelmRelease, t *target) (*helm.Runner, error) {
	logger := slog.New(logr.ToSlogHandler(log.FromContext(ctx).WithName("helm")))
	cfg, err := helm.NewConfiguration(t.getter, hr.GetReleaseNamespace(), hr.GetStorageNamespace(), logger)
	if err != nil {
		return nil, err
	}
	hr.Status.StorageNamespace = hr.GetStorageNamespace()
	return helm.NewRunner(cfg, hr.GetReleaseName(), hr.GetReleaseNamespace()), nil
}

// handleRequests handles the force and reset annotations, which count only
// together with a reconcile request of the same value; it reports whether an
// upgrade is forced.
func (r *Reconciler) handleRequests(hr *helmv1.HelmRelease) bool {
	req, ok := meta.ReconcileAnnotationValue(hr.GetAnnotations())
	if !ok {
		return false
	}
	ann := hr.GetAnnotations()
	if v := ann[helmv1.ResetRequestAnnotation]; v == req && v != hr.Status.LastHandledResetAt {
		hr.Status.ClearFailures()
		hr.Status.LastHandledResetAt = v
	}
	if v := ann[helmv1.ForceRequestAnnotation]; v == req && v != hr.Status.LastHandledForceAt {
		hr.Status.LastHandledForceAt = v
		return true
	}
	return false
}

// decide says what to do: install when there is no release that was ever
// deployed, upgrade when the release is not the desired one (chart, values,
// the spec fields that shape the release) or not deployed, else nothing.
// Other spec changes (interval, suspend, dependsOn, driftDetection, ...)
// make no new Helm revision.
func decide(hr *helmv1.HelmRelease, last *release.Release, hist []*release.Release, d desired, force bool) releaseAction {
	if helm.NeedsInstall(last, hist) {
		return actInstall
	}
	switch {
	case force,
		last.Info.Status != rcommon.StatusDeployed,
		!matches(hr, last, d):
		return actUpgrade
	}
	return actNone
}

// matches reports whether rel is the desired chart (name, version and
// default values) with the desired values, released as the spec says.
func matches(hr *helmv1.HelmRelease, rel *release.Release, d desired) bool {
	if helm.ChartName(rel) != d.chart.Name() || helm.ChartVersion(rel) != d.chart.Metadata.Version ||
		helm.ValuesDigest(rel.Config) != d.valuesDigest ||
		// spec.chart.spec.valuesFiles merged into the chart: same version.
		helm.ChartValuesDigest(rel) != helm.ValuesDigest(d.chart.Values) {
		return false
	}
	s := hr.Status.History.Latest()
	if s != nil && s.Version != rel.Version {
		s = nil
	}
	if d.ociDigest != "" && (s == nil || s.OCIDigest != d.ociDigest) {
		return false
	}
	if s == nil || s.SpecDigest == "" {
		// Made before spec digests were recorded, or a rollback to a
		// version that status.history no longer has: a new spec
		// generation is taken as a change.
		return hr.Status.LastAttemptedGeneration == d.generation
	}
	return s.SpecDigest == d.specDigest
}

// specDigest is the digest of the spec fields that shape the release beyond
// its chart and values: what Helm renders (post-renderers), where it goes
// (release name, target and storage namespaces) and how an upgrade treats
// the chart's CRDs. The other fields (interval, timeout, suspend, dependsOn,
// driftDetection, test, remediation, install-only options, ...) say how and
// when to reconcile, not what is released.
func specDigest(hr *helmv1.HelmRelease) string {
	return helm.ValuesDigest(map[string]any{
		"releaseName":      hr.GetReleaseName(),
		"targetNamespace":  hr.GetReleaseNamespace(),
		"storageNamespace": hr.GetStorageNamespace(),
		"postRenderers":    postRenderers(hr),
		"upgradeCRDs":      string(hr.GetUpgrade().GetCRDsPolicy()),
	})
}

// recordAttempt records the desired state in status; a new desired state
// starts the failure counters over.
func (r *Reconciler) recordAttempt(hr *helmv1.HelmRelease, d desired, act releaseAction) {
	st := &hr.Status
	if st.LastAttemptedGeneration != d.generation || st.LastAttemptedRevision != d.chart.Metadata.Version ||
		st.LastAttemptedConfigDigest != d.valuesDigest || st.LastAttemptedRevisionDigest != d.ociDigest ||
		st.LastAttemptedSpecDigest != d.specDigest {
		st.ClearFailures()
	}
	st.LastAttemptedGeneration = d.generation
	st.LastAttemptedSpecDigest = d.specDigest
	st.LastAttemptedRevision = d.chart.Metadata.Version
	st.LastAttemptedRevisionDigest = d.ociDigest
	st.LastAttemptedConfigDigest = d.valuesDigest
	st.LastAttemptedValuesChecksum = helm.ValuesChecksum(d.values)
	switch act {
	case actInstall:
		st.LastAttemptedReleaseAction = helmv1.ReleaseActionInstall
	case actUpgrade:
		st.LastAttemptedReleaseAction = helmv1.ReleaseActionUpgrade
	}
}

// retriesExhausted reports whether the action failed for the desired state
// more often than its remediation allows.
func retriesExhausted(hr *helmv1.HelmRelease, act releaseAction) (string, bool) {
	st := hr.Status
	last := ""
	if c := meta.GetCondition(hr, meta.ReleasedCondition); c != nil && c.Status != "True" {
		last = ": last failure: " + c.Message
	}
	switch act {
	case actInstall:
		in := hr.GetInstall()
		if in.GetStrategy().Name == helmv1.RemediateOnFailure && st.InstallFailures > 0 && in.GetRemediation().RetriesExhausted(st.InstallFailures) {
			return fmt.Sprintf("install retries exhausted after %d failures (install.remediation.retries=%d); change the spec or request a reset%s",
				st.InstallFailures, in.GetRemediation().GetRetries(), last), true
		}
	case actUpgrade:
		up := hr.GetUpgrade()
		if up.GetStrategy().Name == helmv1.RemediateOnFailure && st.UpgradeFailures > 0 && up.GetRemediation().RetriesExhausted(st.UpgradeFailures) {
			return fmt.Sprintf("upgrade retries exhausted after %d failures (upgrade.remediation.retries=%d); change the spec or request a reset%s",
				st.UpgradeFailures, up.GetRemediation().GetRetries(), last), true
		}
	}
	return "", false
}

// finalize uninstalls the release, unless the HelmRelease is suspended, and
// deletes the HelmChart made for it.
func (r *Reconciler) finalize(ctx context.Context, hr *helmv1.HelmRelease) error {
	r.applied.Forget(client.ObjectKeyFromObject(hr))
	if hr.Spec.Suspend {
		return nil
	}
	t, err := r.clients.forRelease(ctx, r.Client, hr, r.serviceAccount(hr))
	if err != nil {
		return fmt.Errorf("uninstalling release %s: %w", hr.GetReleaseName(), err)
	}
	runner, err := r.runner(ctx, hr, t)
	if err != nil {
		return fmt.Errorf("uninstalling release %s: %w", hr.GetReleaseName(), err)
	}
	un := hr.GetUninstall()
	if err := runner.Uninstall(ctx, helm.UninstallOptions{
		Timeout: un.GetTimeout(hr.GetTimeout()), KeepHistory: un.KeepHistory, DisableHooks: un.DisableHooks,
		DisableWait: un.DisableWait, DeletionPropagation: un.GetDeletionPropagation(),
	}); err != nil {
		r.Recorder.Eventf(hr, nil, corev1.EventTypeWarning, helmv1.UninstallFailedReason, "Uninstall", "uninstalling release %s: %s", runner.Name(), err)
		return fmt.Errorf("uninstalling release %s: %w", runner.Name(), err)
	}
	r.Recorder.Eventf(hr, nil, corev1.EventTypeNormal, helmv1.UninstallSucceededReason, "Uninstall", "uninstalled release %s/%s", hr.GetReleaseNamespace(), runner.Name())
	return r.deleteHelmChart(ctx, hr)
}

// checkAccess enforces --no-cross-namespace-refs.
func (r *Reconciler) checkAccess(hr *helmv1.HelmRelease) error {
	if !r.NoCrossNamespaceRefs {
		return nil
	}
	_, ns, _ := chartSource(hr)
	return consumer.CheckNamespaces(hr.Namespace, "the chart source", ns, hr.Spec.DependsOn)
}

// checkDependencies returns an error naming the first dependency that is
// not Ready at its latest generation.
func (r *Reconciler) checkDependencies(ctx context.Context, hr *helmv1.HelmRelease) error {
	return consumer.CheckDependencies(ctx, r.Client, helmv1.HelmReleaseKind, hr.Namespace, hr.Spec.DependsOn)
}

// fail records a failure that is not the release's (the chart, values,
// dependencies or clients): the release is left as it is. The watches bring
// the HelmRelease back when what it waits for changes; the interval is the
// safety net.
func (r *Reconciler) fail(ctx context.Context, hr *helmv1.HelmRelease, reason string, err error) error {
	prev := meta.GetCondition(hr, meta.ReadyCondition)
	lifecycle.Failed(hr, false, reason, "%s", err)
	if reason != meta.DependencyNotReadyReason {
		hr.SetObservedGeneration(hr.GetGeneration())
	}
	if prev == nil || prev.Reason != reason || prev.Message != err.Error() {
		r.Recorder.Eventf(hr, nil, corev1.EventTypeWarning, reason, "Reconcile", "%s", err)
		log.FromContext(ctx).Info("reconcile failed", "reason", reason, "error", err.Error())
	}
	return lifecycle.RequeueAfter(lifecycle.Jitter(hr.GetInterval()))
}

// stall records that retries are exhausted: Ready keeps the reason of the
// last failure (or says RetriesExceeded), and Stalled says why nothing more is
// tried until the spec changes or a reset is requested.
func (r *Reconciler) stall(hr *helmv1.HelmRelease, msg string) {
	if !meta.IsFalse(hr, meta.ReadyCondition) {
		meta.MarkFalse(hr, meta.ReadyCondition, helmv1.RetriesExceededReason, "%s", msg)
	}
	meta.MarkTrue(hr, meta.StalledCondition, helmv1.RetriesExceededReason, "%s", msg)
	meta.DeleteCondition(hr, meta.ReconcilingCondition)
	hr.SetObservedGeneration(hr.GetGeneration())
}

// uninstallMoved uninstalls the release that status.history names when the
// spec now names another one (releaseName, targetNamespace or
// storageNamespace changed): the new release is installed from scratch, and
// the old one must not be left behind.
func (r *Reconciler) uninstallMoved(ctx context.Context, hr *helmv1.HelmRelease, t *target) error {
	latest := hr.Status.History.Latest()
	oldStorage := hr.Status.StorageNamespace
	if latest == nil || oldStorage == "" {
		return nil
	}
	if latest.Name == hr.GetReleaseName() && latest.Namespace == hr.GetReleaseNamespace() && oldStorage == hr.GetStorageNamespace() {
		return nil
	}
	logger := slog.New(logr.ToSlogHandler(log.FromContext(ctx).WithName("helm")))
	cfg, err := helm.NewConfiguration(t.getter, latest.Namespace, oldStorage, logger)
	if err != nil {
		return err
	}
	old := helm.NewRunner(cfg, latest.Name, latest.Namespace)
	un := hr.GetUninstall()
	if err := old.Uninstall(ctx, helm.UninstallOptions{Timeout: un.GetTimeout(hr.GetTimeout()), KeepHistory: un.KeepHistory,
		DisableHooks: un.DisableHooks, DisableWait: un.DisableWait, DeletionPropagation: un.GetDeletionPropagation()}); err != nil {
		return fmt.Errorf("uninstalling release %s/%s, which the spec no longer names: %w", latest.Namespace, latest.Name, err)
	}
	r.Recorder.Eventf(hr, nil, corev1.EventTypeNormal, helmv1.UninstallSucceededReason, "Uninstall",
		"uninstalled release %s/%s (storage %s): the spec now names release %s/%s", latest.Namespace, latest.Name, oldStorage,
		hr.GetReleaseNamespace(), hr.GetReleaseName())
	hr.Status.History = nil
	hr.Status.ClearFailures()
	return nil
}
