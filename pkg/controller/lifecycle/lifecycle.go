// Package lifecycle holds the steps that every Tether reconciler shares: the
// finalizer, suspension, reconcile requests, the one status patch at the end of
// a reconcile, and requeueing on the object's interval.
package lifecycle

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// Object is what the shared steps work on: any Tether kind.
type Object interface {
	meta.Reconcilable
	client.Object
}

// Jitter spreads requeues of many objects with the same interval over up to
// 10% more time, so that they do not all hit a server at once.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

// RequeueAfterInterval is the result of a successful reconcile.
func RequeueAfterInterval(obj meta.Reconcilable) ctrl.Result {
	return ctrl.Result{RequeueAfter: Jitter(obj.GetInterval())}
}

// HandleReconcileRequest records a reconcile request annotation as handled, so
// that `tether reconcile` sees its request answered.
func HandleReconcileRequest(obj Object) {
	if v, ok := meta.ReconcileAnnotationValue(obj.GetAnnotations()); ok {
		obj.SetLastHandledReconcileRequest(v)
	}
}

// EnsureFinalizer adds the Tether finalizer; it reports true when it patched
// the object (the caller then returns and reconciles on the resulting event).
func EnsureFinalizer(ctx context.Context, c client.Client, obj Object) (bool, error) {
	if controllerutil.ContainsFinalizer(obj, meta.Finalizer) {
		return false, nil
	}
	before := obj.DeepCopyObject().(client.Object)
	controllerutil.AddFinalizer(obj, meta.Finalizer)
	if err := c.Patch(ctx, obj, client.MergeFrom(before)); err != nil {
		return false, fmt.Errorf("adding finalizer: %w", err)
	}
	return true, nil
}

// RemoveFinalizer removes the Tether finalizer so that deletion completes.
func RemoveFinalizer(ctx context.Context, c client.Client, obj Object) error {
	if !controllerutil.ContainsFinalizer(obj, meta.Finalizer) {
		return nil
	}
	before := obj.DeepCopyObject().(client.Object)
	controllerutil.RemoveFinalizer(obj, meta.Finalizer)
	if err := c.Patch(ctx, obj, client.MergeFrom(before)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing finalizer: %w", err)
	}
	return nil
}

// StatusPatcher writes the status changes a reconcile made in one patch.
type StatusPatcher struct {
	c      client.Client
	before client.Object
}

// NewStatusPatcher remembers obj's state before the reconcile changes it.
func NewStatusPatcher(c client.Client, obj Object) *StatusPatcher {
	return &StatusPatcher{c: c, before: obj.DeepCopyObject().(client.Object)}
}

// Patch sends the difference between obj's status now and when the patcher was
// made; it does nothing when nothing changed, so a no-change reconcile writes nothing.
func (p *StatusPatcher) Patch(ctx context.Context, obj Object) error {
	patch := client.MergeFrom(p.before)
	data, err := patch.Data(obj)
	if err != nil {
		return err
	}
	if string(data) == "{}" {
		return nil
	}
	if err := p.c.Status().Patch(ctx, obj, client.RawPatch(patch.Type(), data)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("updating status: %w", err)
	}
	p.before = obj.DeepCopyObject().(client.Object)
	return nil
}

// Progressing marks the start of a reconcile that will change something: Reconciling=True
// and Ready=Unknown unless it is already known, so observers can tell work is under way.
func Progressing(obj Object, format string, args ...any) {
	meta.MarkTrue(obj, meta.ReconcilingCondition, meta.ProgressingReason, format, args...)
	if meta.GetCondition(obj, meta.ReadyCondition) == nil {
		meta.MarkUnknown(obj, meta.ReadyCondition, meta.ProgressingReason, format, args...)
	}
}

// Succeeded marks the object Ready, not Reconciling, not Stalled, at the current generation.
func Succeeded(obj Object, reason, format string, args ...any) {
	meta.MarkTrue(obj, meta.ReadyCondition, reason, format, args...)
	meta.DeleteCondition(obj, meta.ReconcilingCondition)
	meta.DeleteCondition(obj, meta.StalledCondition)
	obj.SetObservedGeneration(obj.GetGeneration())
}

// Failed marks the object not Ready with a reason; stalled failures (that a
// retry cannot fix, such as an invalid spec) also set Stalled=True, and the
// generation counts as observed so that waiting clients stop waiting.
func Failed(obj Object, stalled bool, reason, format string, args ...any) {
	meta.MarkFalse(obj, meta.ReadyCondition, reason, format, args...)
	if stalled {
		meta.MarkTrue(obj, meta.StalledCondition, reason, format, args...)
		meta.DeleteCondition(obj, meta.ReconcilingCondition)
		obj.SetObservedGeneration(obj.GetGeneration())
	} else {
		meta.DeleteCondition(obj, meta.StalledCondition)
		meta.MarkTrue(obj, meta.ReconcilingCondition, meta.ProgressingWithRetryReason, format, args...)
	}
}

// Kind returns the kind of a typed object from its scheme, for messages and events.
func Kind(s *runtime.Scheme, obj runtime.Object) string {
	gvks, _, err := s.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return fmt.Sprintf("%T", obj)
	}
	return gvks[0].Kind
}
