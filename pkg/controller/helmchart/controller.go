// Package helmchart reconciles HelmChart objects: it resolves the chart from
// a HelmRepository's stored index (or an OCI registry's tags), or packages it
// from a GitRepository or Bucket artifact, merges spec.valuesFiles, and
// stores the packaged chart as the artifact, with the chart version as
// revision. A new source artifact reconciles the charts that use it at once.
package helmchart

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/artifact"
	"github.com/tether-gitops/tether/pkg/controller/lifecycle"
	"github.com/tether-gitops/tether/pkg/controller/sourcectl"
	"github.com/tether-gitops/tether/pkg/source/helm"
)

// Reasons specific to HelmCharts.
const (
	// InvalidChartReferenceReason: spec.chart, spec.version or spec.sourceRef
	// is malformed; only a spec change fixes it.
	InvalidChartReferenceReason = "InvalidChartReference"
	// NewArtifactReason is the reason of the event sent for a new chart.
	NewArtifactReason = "NewArtifact"

	sourceIndexKey = ".spec.sourceRef"
)

// Reconciler reconciles HelmChart objects.
type Reconciler struct {
	client.Client
	Store    *artifact.Store
	Recorder recorder.EventRecorder
	// Cache keeps downloaded charts and parsed indexes; share it with the
	// HelmRepository reconciler. Nil means a process-wide cache under the
	// temporary directory.
	Cache *helm.Cache
	// TempDir holds extracted sources and packaged charts while they are
	// stored; empty means os.TempDir.
	TempDir string
}

// SetupWithManager registers the controller: it reconciles on spec changes,
// reconcile requests, and whenever a source it uses has a new artifact.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &sourcev1.HelmChart{}, sourceIndexKey,
		func(o client.Object) []string {
			ref := o.(*sourcev1.HelmChart).Spec.SourceRef
			return []string{sourceKey(ref.Kind, ref.Name)}
		}); err != nil {
		return err
	}
	onNewArtifact := builder.WithPredicates(lifecycle.ArtifactChangedPredicate{})
	return ctrl.NewControllerManagedBy(mgr).
		For(&sourcev1.HelmChart{}, lifecycle.ForPredicates()).
		Watches(&sourcev1.HelmRepository{}, handler.EnqueueRequestsFromMapFunc(r.chartsOf(sourcev1.HelmRepositoryKind)), onNewArtifact).
		Watches(&sourcev1.GitRepository{}, handler.EnqueueRequestsFromMapFunc(r.chartsOf(sourcev1.GitRepositoryKind)), onNewArtifact).
		Watches(&sourcev1.Bucket{}, handler.EnqueueRequestsFromMapFunc(r.chartsOf(sourcev1.BucketKind)), onNewArtifact).
		WithOptions(opts).
		Named("helmchart").
		Complete(r)
}

func sourceKey(kind, name string) string { return kind + "/" + name }

// chartsOf maps a source of the given kind to the HelmCharts that use it.
func (r *Reconciler) chartsOf(kind string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var list sourcev1.HelmChartList
		if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()),
			client.MatchingFields{sourceIndexKey: sourceKey(kind, o.GetName())}); err != nil {
			log.FromContext(ctx).Error(err, "listing the HelmCharts of a source", "kind", kind, "name", o.GetName())
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(list.Items))
		for _, item := range list.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&item)})
		}
		return reqs
	}
}

// Reconcile brings one HelmChart's artifact up to date with its source.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return lifecycle.Reconcile(ctx, r.Client, req, &sourcev1.HelmChart{}, lifecycle.Steps[*sourcev1.HelmChart]{
		Finalize:  sourcectl.RemoveArtifacts[*sourcev1.HelmChart](r.Store, sourcev1.HelmChartKind),
		Reconcile: r.reconcile,
	})
}

// reconcile builds the chart from its source kind; a returned error means
// "retry with backoff", and the conditions already say what failed.
func (r *Reconciler) reconcile(ctx context.Context, obj *sourcev1.HelmChart) error {
	if obj.Status.Artifact != nil && !r.Store.Exists(*obj.Status.Artifact) {
		meta.MarkFalse(obj, meta.ArtifactInStorageCondition, meta.StorageOperationFailedReason,
			"artifact for revision '%s' is missing from storage", obj.Status.Artifact.Revision)
	}
	switch kind := obj.Spec.SourceRef.Kind; kind {
	case sourcev1.HelmRepositoryKind:
		return r.fromHelmRepository(ctx, obj)
	case sourcev1.GitRepositoryKind, sourcev1.BucketKind:
		return r.fromSource(ctx, obj)
	default:
		return r.invalid(obj, fmt.Errorf("spec.sourceRef.kind %q is not supported: use HelmRepository, GitRepository or Bucket", kind))
	}
}

// upToDate reports whether the stored artifact was built from the current
// spec and already holds version (when version is not empty).
func (r *Reconciler) upToDate(obj *sourcev1.HelmChart, version string) bool {
	a := obj.Status.Artifact
	return a != nil && r.Store.Exists(*a) && obj.Status.ObservedGeneration == obj.Generation &&
		(version == "" || a.Revision == version)
}

// keep records that the stored artifact is still current for sourceRevision.
func (r *Reconciler) keep(obj *sourcev1.HelmChart, sourceRevision string) error {
	obj.Status.ObservedSourceArtifactRevision = sourceRevision
	r.clearFailures(obj)
	lifecycle.Succeeded(obj, meta.SucceededReason, "stored artifact: chart '%s' version '%s'",
		obj.Status.ObservedChartName, obj.Status.Artifact.Revision)
	return nil
}

// store stores the packaged chart as the artifact and records it.
func (r *Reconciler) store(ctx context.Context, obj *sourcev1.HelmChart, c *helm.Chart, sourceRevision, verb string) error {
	f, err := c.Open()
	if err != nil {
		return sourcectl.StorageFailed(obj, err)
	}
	a, err := r.Store.StoreReader(r.ref(obj), f, c.Version(), "tgz")
	f.Close()
	if err != nil {
		return sourcectl.StorageFailed(obj, err)
	}
	previous := obj.Status.Artifact
	obj.Status.Artifact = &a
	obj.Status.URL = a.URL
	obj.Status.ObservedChartName = c.Name()
	obj.Status.ObservedSourceArtifactRevision = sourceRevision
	obj.Status.ObservedValuesFiles = c.ValuesFiles
	meta.MarkTrue(obj, meta.ArtifactInStorageCondition, meta.SucceededReason, "stored artifact: chart '%s' version '%s'", c.Name(), a.Revision)
	r.clearFailures(obj)
	lifecycle.Succeeded(obj, meta.SucceededReason, "%s chart '%s' with version '%s'", verb, c.Name(), a.Revision)
	if previous == nil || previous.Digest != a.Digest {
		r.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, NewArtifactReason, "Store", "%s chart '%s' with version '%s'", verb, c.Name(), a.Revision)
	}
	if removed, err := r.Store.GC(r.ref(obj), a); err != nil {
		log.FromContext(ctx).Error(err, "garbage collecting old artifacts")
	} else if len(removed) > 0 {
		log.FromContext(ctx).V(1).Info("garbage collected old artifacts", "files", removed)
	}
	return nil
}

func (r *Reconciler) clearFailures(obj *sourcev1.HelmChart) {
	meta.DeleteCondition(obj, meta.FetchFailedCondition)
	meta.DeleteCondition(obj, meta.StorageOperationFailedCondition)
}

// invalid records a spec error that a retry cannot fix.
func (r *Reconciler) invalid(obj *sourcev1.HelmChart, err error) error {
	lifecycle.Failed(obj, true, InvalidChartReferenceReason, "%s", err)
	r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, InvalidChartReferenceReason, "Resolve", "%s", err)
	return nil // the next spec change reconciles again
}

// sourceNotReady records that the source has no usable artifact yet: the
// HelmChart retries, and its watch on the source brings it back as soon as
// the source stores one.
func (r *Reconciler) sourceNotReady(obj *sourcev1.HelmChart, err error) error {
	lifecycle.Failed(obj, false, meta.ArtifactFailedReason, "%s", err)
	return err
}

// failed records a fetch, pull or packaging failure. The last artifact stays
// in storage and in status.
func (r *Reconciler) failed(obj *sourcev1.HelmChart, reason string, err error) error {
	if errors.Is(err, helm.ErrAuthentication) {
		reason = meta.AuthenticationFailedReason
	}
	meta.MarkTrue(obj, meta.FetchFailedCondition, reason, "%s", err)
	lifecycle.Failed(obj, false, reason, "%s", err)
	r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, reason, "Build", "%s", err)
	return err
}

func (r *Reconciler) ref(obj *sourcev1.HelmChart) artifact.ObjectRef {
	return sourcectl.Ref(sourcev1.HelmChartKind, obj)
}
