package lifecycle

import (
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// ReconcileRequestedPredicate passes updates that set a new reconcile request
// annotation (`tether reconcile`), which do not change the generation.
type ReconcileRequestedPredicate struct{ predicate.Funcs }

// Update passes when the reconcile request annotation changed.
func (ReconcileRequestedPredicate) Update(e event.UpdateEvent) bool {
	if e.ObjectOld == nil || e.ObjectNew == nil {
		return false
	}
	oldV, _ := meta.ReconcileAnnotationValue(e.ObjectOld.GetAnnotations())
	newV, ok := meta.ReconcileAnnotationValue(e.ObjectNew.GetAnnotations())
	return ok && newV != oldV
}

// ArtifactChangedPredicate passes source updates whose artifact changed, so
// that consumers reconcile on a new revision without polling.
type ArtifactChangedPredicate struct{ predicate.Funcs }

// Create passes: a new source may already carry an artifact (e.g. after a restart).
func (ArtifactChangedPredicate) Create(event.CreateEvent) bool { return true }

// Update passes when the artifact's digest or revision changed.
func (ArtifactChangedPredicate) Update(e event.UpdateEvent) bool {
	oldS, ok1 := e.ObjectOld.(meta.ObjectWithArtifact)
	newS, ok2 := e.ObjectNew.(meta.ObjectWithArtifact)
	if !ok1 || !ok2 {
		return false
	}
	oa, na := oldS.GetArtifact(), newS.GetArtifact()
	switch {
	case na == nil:
		return false
	case oa == nil:
		return true
	}
	return oa.Digest != na.Digest || oa.Revision != na.Revision
}

// Delete does not pass: consumers keep their last applied state.
func (ArtifactChangedPredicate) Delete(event.DeleteEvent) bool { return false }
