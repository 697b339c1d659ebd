package lifecycle

import (
	"context"
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/metrics"
)

// Steps are what one kind's reconciler adds to the lifecycle every kind shares.
type Steps[T Object] struct {
	// Finalize cleans up after a deleted object; the finalizer is removed after it succeeds.
	Finalize func(ctx context.Context, obj T) error
	// Reconcile does the kind's work within spec.timeout (or Timeout). It
	// records its outcome in the object's conditions; an error retries with
	// backoff.
	Reconcile func(ctx context.Context, obj T) error
	// Timeout, when set, bounds Reconcile instead of spec.timeout: for a kind
	// whose steps each have their own timeout (a Helm upgrade, then its
	// rollback), so that a step that used all of its own still leaves the
	// next one its time.
	Timeout func(obj T) time.Duration
}

// Reconcile runs the shared recipe around a kind's steps: get the object →
// on deletion finalize → ensure the finalizer → skip when suspended → do the
// work under spec.timeout → write the status in one patch → requeue on the interval.
func Reconcile[T Object](ctx context.Context, c client.Client, req ctrl.Request, obj T, steps Steps[T]) (result ctrl.Result, retErr error) {
	kind := Kind(c.Scheme(), obj)
	if err := c.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			metrics.DeleteReady(kind, req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		if steps.Finalize != nil {
			if err := steps.Finalize(ctx, obj); err != nil {
				return ctrl.Result{}, err
			}
		}
		metrics.DeleteReady(kind, req.Namespace, req.Name)
		return ctrl.Result{}, RemoveFinalizer(ctx, c, obj)
	}
	if _, err := EnsureFinalizer(ctx, c, obj); err != nil {
		return ctrl.Result{}, err
	}
	if obj.IsSuspended() {
		log.FromContext(ctx).V(1).Info("suspended; skipping")
		return ctrl.Result{}, nil
	}

	start := time.Now()
	patcher := NewStatusPatcher(c, obj)
	defer func() {
		HandleReconcileRequest(obj)
		retErr = errors.Join(retErr, patcher.Patch(ctx, obj))
		metrics.ObserveReconcile(kind, time.Since(start))
		ready := ""
		if cond := meta.GetCondition(obj, meta.ReadyCondition); cond != nil {
			ready = string(cond.Status)
		}
		metrics.SetReady(kind, obj.GetNamespace(), obj.GetName(), ready)
	}()

	// The timeout bounds the work, not the status patch deferred above.
	timeout := obj.GetTimeout()
	if steps.Timeout != nil {
		timeout = steps.Timeout(obj)
	}
	workCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	workCtx = context.WithValue(workCtx, statusWriterKey{}, func() error { return patcher.Patch(ctx, obj) })
	if err := steps.Reconcile(workCtx, obj); err != nil {
		var rq *requeue
		if errors.As(err, &rq) {
			return ctrl.Result{RequeueAfter: rq.after}, nil
		}
		return ctrl.Result{}, err
	}
	return RequeueAfterInterval(obj), nil
}

type statusWriterKey struct{}

// WriteStatus writes the status changes a step made so far, before a long
// action (a Helm install that waits for its objects), so that observers see
// what is under way rather than the outcome of the previous reconcile. The
// status is written again at the end of the reconcile as usual.
func WriteStatus(ctx context.Context) error {
	if write, ok := ctx.Value(statusWriterKey{}).(func() error); ok {
		return write()
	}
	return nil
}

// requeue is returned by a step whose outcome is recorded in the object's
// conditions and that must be looked at again after a given time rather
// than on the interval or with backoff.
type requeue struct{ after time.Duration }

func (r *requeue) Error() string { return "requeue after " + r.after.String() }

// RequeueAfter ends a step: the status is written and the object is
// reconciled again after d (e.g. a health check in progress, or
// spec.retryInterval after a recorded failure).
func RequeueAfter(d time.Duration) error { return &requeue{after: d} }

// ForPredicates are the events of its own kind that a reconciler acts on: a
// spec change (new generation) or a reconcile request; status updates are not.
func ForPredicates() builder.Predicates {
	return builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, ReconcileRequestedPredicate{}))
}
