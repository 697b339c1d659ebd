package kustomization

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/controller/consumer"
	"github.com/tether-gitops/tether/pkg/controller/lifecycle"
	"github.com/tether-gitops/tether/pkg/kustomize"
	"github.com/tether-gitops/tether/pkg/metrics"
	"github.com/tether-gitops/tether/pkg/ssa"
)

// checkDependencies returns an error naming the first dependency that is not
// Ready at its latest generation and revision.
func (r *Reconciler) checkDependencies(ctx context.Context, ks *kustomizev1.Kustomization) error {
	return consumer.CheckDependencies(ctx, r.Client, kustomizev1.KustomizationKind, ks.Namespace, ks.Spec.DependsOn)
}

// source returns the source with an artifact to build from.
func (r *Reconciler) source(ctx context.Context, ks *kustomizev1.Kustomization) (meta.Source, error) {
	ref := ks.Spec.SourceRef
	key := client.ObjectKey{Namespace: ref.NamespaceOr(ks.Namespace), Name: ref.Name}
	src, ok := sourcev1.NewKustomizationSource(ref.Kind)
	if !ok {
		return nil, fmt.Errorf("source kind %q is not supported: use GitRepository, OCIRepository or Bucket", ref.Kind)
	}
	if err := r.Get(ctx, key, src); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("source %s %s not found", ref.Kind, key)
		}
		return nil, fmt.Errorf("source %s %s: %w", ref.Kind, key, err)
	}
	if src.GetArtifact() == nil {
		msg := "no artifact yet"
		if c := meta.GetCondition(src, meta.ReadyCondition); c != nil && c.Status != "True" {
			msg = c.Message
		}
		return nil, fmt.Errorf("source %s %s not ready: %s", ref.Kind, key, msg)
	}
	return src, nil
}

// apply labels the objects as ours and applies them.
func (r *Reconciler) apply(ctx context.Context, ks *kustomizev1.Kustomization, c client.Client, objs []*unstructured.Unstructured, origins map[string]string) (ssa.ChangeSet, error) {
	kustomize.SetLabels(objs, ks.OwnerLabels())
	changes, err := r.newSSA(c).ApplyAllStaged(ctx, objs, ssa.ApplyOptions{Force: ks.Spec.Force, WaitTimeout: ks.GetTimeout(), Origins: origins, Applied: r.applied.Of(client.ObjectKeyFromObject(ks), strconv.FormatInt(ks.Generation, 10))})
	for _, a := range []ssa.Action{ssa.Created, ssa.Configured, ssa.Unchanged, ssa.Skipped} {
		metrics.CountApplied(string(a), changes.Count(a))
	}
	if err != nil {
		// Objects written before the failure join the inventory, so that a
		// later prune can find them.
		if written := changes.Changed(); len(written) > 0 {
			ks.Status.Inventory = mergeInventory(ks.Status.Inventory, objs, written)
		}
		return changes, err
	}
	return changes, nil
}

func (r *Reconciler) newSSA(c client.Client) *ssa.Manager {
	m := ssa.New(c, FieldManager)
	if r.Concurrency > 0 {
		m.Concurrency = r.Concurrency
	}
	return m
}

// prune deletes what the last inventory has and the new build has not, then
// records the new inventory.
func (r *Reconciler) prune(ctx context.Context, ks *kustomizev1.Kustomization, c client.Client, objs []*unstructured.Unstructured) error {
	newInv := inventoryOf(objs)
	defer func() { ks.Status.Inventory = newInv }()
	if !ks.Spec.Prune || ks.Status.Inventory == nil {
		return nil
	}
	stale, err := staleObjects(ks.Status.Inventory, newInv)
	if err != nil {
		return err
	}
	if len(stale) == 0 {
		return nil
	}
	if l := ks.Spec.PruneLimit; l != nil {
		total := len(ks.Status.Inventory.Entries)
		if len(stale)*100 > int(l.Percent)*total {
			// Keep the old entries so that the objects are still known.
			newInv = mergeInventory(newInv, stale, nil)
			return &pruneLimitError{stale: len(stale), total: total, percent: l.Percent}
		}
	}
	changes, err := r.newSSA(c).DeleteAll(ctx, stale, r.deleteOptions(ks))
	metrics.CountApplied(string(ssa.Deleted), changes.Count(ssa.Deleted))
	if deleted := changes.Changed(); len(deleted) > 0 {
		log.FromContext(ctx).Info("pruned", "changes", deleted.Summary(), "objects", subjects(deleted))
		r.Recorder.Eventf(ks, nil, corev1.EventTypeNormal, "Pruned", "Prune", "%s", lines(deleted))
	}
	if err != nil {
		newInv = mergeInventory(newInv, stale, nil)
		return fmt.Errorf("pruning: %w", err)
	}
	return nil
}

type pruneLimitError struct {
	stale, total int
	percent      int32
}

func (e *pruneLimitError) Error() string {
	return fmt.Sprintf("pruning %d of %d objects (%d%%) exceeds spec.pruneLimit.percent=%d: nothing was pruned; if this is intended, raise or remove spec.pruneLimit",
		e.stale, e.total, e.stale*100/e.total, e.percent)
}

func isPruneLimit(err error) bool {
	var pl *pruneLimitError
	return errors.As(err, &pl)
}

func (r *Reconciler) deleteOptions(ks *kustomizev1.Kustomization) ssa.DeleteOptions {
	return ssa.DeleteOptions{Owner: ks.OwnerLabels()}
}

// logApplied logs what the apply did and returns the changes, which the
// outcome's event lists (one event per reconcile, not one per step).
func (r *Reconciler) logApplied(ctx context.Context, revision string, changes ssa.ChangeSet) ssa.ChangeSet {
	log.FromContext(ctx).Info("applied", "revision", revision, "changes", changes.Summary())
	return changes.Changed()
}

// eventApplied reports the changes of an apply whose outcome is a failure
// (a success reports them in its own event).
func (r *Reconciler) eventApplied(ks *kustomizev1.Kustomization, revision string, changed ssa.ChangeSet) {
	if len(changed) > 0 {
		r.Recorder.Eventf(ks, nil, corev1.EventTypeNormal, "Applied", "Apply", "revision %s\n%s", revision, lines(changed))
	}
}

func lines(cs ssa.ChangeSet) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return strings.Join(out, "\n")
}

func subjects(cs ssa.ChangeSet) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Subject
	}
	return out
}

// healthChecks returns the objects whose health is the Kustomization's: all
// applied ones with spec.wait, else spec.healthChecks.
func (r *Reconciler) healthChecks(ks *kustomizev1.Kustomization, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	if ks.Spec.Wait {
		out := make([]*unstructured.Unstructured, 0, len(objs))
		for _, u := range objs {
			if u.GetAnnotations()[ssa.ReconcileAnnotation] != ssa.DisabledValue {
				out = append(out, u)
			}
		}
		return out, nil
	}
	out := make([]*unstructured.Unstructured, 0, len(ks.Spec.HealthChecks))
	for _, hc := range ks.Spec.HealthChecks {
		gv, err := schema.ParseGroupVersion(hc.APIVersion)
		if err != nil {
			return nil, fmt.Errorf("spec.healthChecks: %s %s: invalid apiVersion %q", hc.Kind, hc.Name, hc.APIVersion)
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gv.WithKind(hc.Kind))
		u.SetName(hc.Name)
		// Without a namespace the entry names an object of the
		// Kustomization's namespace, as the API documents; a cluster-scoped
		// kind ignores it.
		u.SetNamespace(namespaceOr(hc.Namespace, ks.Namespace))
		out = append(out, u)
	}
	return out, nil
}

// startHealth checks the objects once; those still progressing are then
// polled by the health tracker, not by requeues that would hold a place in
// the work queue, and the Kustomization is reconciled again when the check
// is over. With spec.wait the objects are those the apply returned, whose
// state is known without reading them again.
//
// While a check is young, the status is not written: the new inventory and
// attempted revision wait in the check (the status before is put back), so
// that a quick check costs one status write, at its outcome. A check that
// lasts more than progressAfter is reported as progress by the tracker.
func (r *Reconciler) startHealth(ctx context.Context, ks *kustomizev1.Kustomization, revision string, p *pendingHealth, before stashedStatus) error {
	var report ssa.HealthReport
	var err error
	if ks.Spec.Wait {
		report, err = ssa.HealthOf(p.objs)
	} else {
		report, err = r.newSSA(p.client).Health(ctx, p.objs)
	}
	if err != nil {
		r.eventApplied(ks, revision, p.changed)
		return r.fail(ctx, ks, meta.HealthCheckFailedReason, fmt.Errorf("checking health: %w", err))
	}
	if report.Ready() || len(report.Failed) > 0 {
		return r.healthOutcome(ctx, ks, revision, p, report)
	}
	p.status = stashedStatus{inventory: ks.Status.Inventory, attempted: ks.Status.LastAttemptedRevision}
	before.restore(ks)
	r.health.track(client.ObjectKeyFromObject(ks), p, report)
	return lifecycle.RequeueAfter(time.Until(p.deadline) + 30*time.Second)
}

// stashedStatus holds the fields a reconcile sets before its health check.
type stashedStatus struct {
	inventory *kustomizev1.ResourceInventory
	attempted string
}

func (s stashedStatus) restore(ks *kustomizev1.Kustomization) {
	ks.Status.Inventory, ks.Status.LastAttemptedRevision = s.inventory, s.attempted
}

// continueHealth is a reconcile while a check is under way: it records the
// outcome once there is one, else the progress.
func (r *Reconciler) continueHealth(ctx context.Context, ks *kustomizev1.Kustomization, revision string, p *pendingHealth) error {
	p.status.restore(ks)
	report, done, err := r.health.outcome(p)
	if !done {
		return r.healthProgress(ks, p, report)
	}
	r.health.forget(client.ObjectKeyFromObject(ks))
	if err != nil {
		r.eventApplied(ks, revision, p.changed)
		return r.fail(ctx, ks, meta.HealthCheckFailedReason, fmt.Errorf("checking health: %w", err))
	}
	return r.healthOutcome(ctx, ks, revision, p, report)
}

func (r *Reconciler) healthOutcome(ctx context.Context, ks *kustomizev1.Kustomization, revision string, p *pendingHealth, report ssa.HealthReport) error {
	if report.Ready() {
		meta.MarkTrue(ks, meta.HealthyCondition, meta.SucceededReason, "applied objects are healthy")
		return r.succeed(ctx, ks, revision, p.changed)
	}
	r.eventApplied(ks, revision, p.changed)
	if len(report.Failed) > 0 {
		return r.fail(ctx, ks, meta.HealthCheckFailedReason, fmt.Errorf("health check failed for %s", report))
	}
	return r.fail(ctx, ks, meta.HealthCheckFailedReason, fmt.Errorf("health check timed out after %s waiting for %s", ks.GetTimeout(), report))
}

// healthProgress records which objects are still awaited. The tracker
// enqueues the Kustomization when the check ends; the requeue is only a
// safety net past the deadline.
func (r *Reconciler) healthProgress(ks *kustomizev1.Kustomization, p *pendingHealth, report ssa.HealthReport) error {
	msg := fmt.Sprintf("waiting for %d objects to become healthy: %s", len(report.Pending), report)
	meta.MarkUnknown(ks, meta.HealthyCondition, meta.ProgressingReason, "%s", msg)
	meta.MarkUnknown(ks, meta.ReadyCondition, meta.ProgressingReason, "%s", msg)
	meta.MarkTrue(ks, meta.ReconcilingCondition, meta.ProgressingReason, "%s", msg)
	return lifecycle.RequeueAfter(time.Until(p.deadline) + 30*time.Second)
}

// succeed records the applied revision; its event lists what changed, and
// is sent when something changed or the Kustomization was not Ready at it.
func (r *Reconciler) succeed(ctx context.Context, ks *kustomizev1.Kustomization, revision string, changed ssa.ChangeSet) error {
	wasReady := meta.IsReady(ks) && ks.Status.LastAppliedRevision == revision
	ks.Status.LastAppliedRevision = revision
	lifecycle.Succeeded(ks, meta.ReconciliationSucceededReason, "Applied revision: %s", revision)
	switch {
	case len(changed) > 0:
		r.Recorder.Eventf(ks, nil, corev1.EventTypeNormal, meta.ReconciliationSucceededReason, "Reconcile", "Applied revision: %s\n%s", revision, lines(changed))
	case !wasReady:
		r.Recorder.Eventf(ks, nil, corev1.EventTypeNormal, meta.ReconciliationSucceededReason, "Reconcile", "Applied revision: %s", revision)
	}
	return nil
}

// fail records a failure and retries after spec.retryInterval. Failures that
// a retry alone cannot fix are still retried: the cluster or a dependency may
// change under them.
func (r *Reconciler) fail(ctx context.Context, ks *kustomizev1.Kustomization, reason string, err error) error {
	prev := meta.GetCondition(ks, meta.ReadyCondition)
	lifecycle.Failed(ks, false, reason, "%s", err)
	if reason != meta.DependencyNotReadyReason {
		ks.SetObservedGeneration(ks.GetGeneration())
	}
	if prev == nil || prev.Reason != reason || prev.Message != err.Error() {
		r.Recorder.Eventf(ks, nil, corev1.EventTypeWarning, reason, "Reconcile", "%s", err)
		log.FromContext(ctx).Info("reconcile failed", "reason", reason, "error", err.Error())
	}
	return lifecycle.RequeueAfter(lifecycle.Jitter(ks.GetRetryInterval()))
}

// inventoryOf records objs as inventory entries, sorted for a stable status.
func inventoryOf(objs []*unstructured.Unstructured) *kustomizev1.ResourceInventory {
	inv := &kustomizev1.ResourceInventory{Entries: make([]kustomizev1.ResourceRef, 0, len(objs))}
	for _, u := range objs {
		inv.Entries = append(inv.Entries, kustomizev1.ResourceRef{ID: ssa.ObjectID(u), Version: u.GroupVersionKind().Version})
	}
	sort.Slice(inv.Entries, func(i, j int) bool { return inv.Entries[i].ID < inv.Entries[j].ID })
	return inv
}

// mergeInventory adds to inv the objects of objs that written names (all
// objs when written is nil).
func mergeInventory(inv *kustomizev1.ResourceInventory, objs []*unstructured.Unstructured, written ssa.ChangeSet) *kustomizev1.ResourceInventory {
	names := map[string]bool{}
	for _, c := range written {
		names[c.Subject] = true
	}
	var add []*unstructured.Unstructured
	for _, u := range objs {
		if written == nil || names[ssa.Subject(u)] {
			add = append(add, u)
		}
	}
	seen := map[string]bool{}
	out := &kustomizev1.ResourceInventory{}
	if inv != nil {
		for _, e := range inv.Entries {
			seen[e.ID] = true
			out.Entries = append(out.Entries, e)
		}
	}
	for _, e := range inventoryOf(add).Entries {
		if !seen[e.ID] {
			out.Entries = append(out.Entries, e)
		}
	}
	sort.Slice(out.Entries, func(i, j int) bool { return out.Entries[i].ID < out.Entries[j].ID })
	return out
}

// staleObjects returns the objects of old that are not in cur.
func staleObjects(old, cur *kustomizev1.ResourceInventory) ([]*unstructured.Unstructured, error) {
	keep := map[string]bool{}
	for _, e := range cur.Entries {
		keep[e.ID] = true
	}
	var stale []*unstructured.Unstructured
	for _, e := range old.Entries {
		if keep[e.ID] {
			continue
		}
		u, err := ssa.ObjectFromID(e.ID, e.Version)
		if err != nil {
			return nil, err
		}
		stale = append(stale, u)
	}
	// Namespaces last, for stable messages; DeleteAll deletes them after
	// their objects in any case.
	sort.SliceStable(stale, func(i, j int) bool { return stale[j].GetKind() == "Namespace" && stale[i].GetKind() != "Namespace" })
	return stale, nil
}

func inventoryObjects(inv *kustomizev1.ResourceInventory) ([]*unstructured.Unstructured, error) {
	return staleObjects(inv, &kustomizev1.ResourceInventory{})
}
