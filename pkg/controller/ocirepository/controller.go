// Package ocirepository reconciles OCIRepository objects: it resolves the
// reference to a manifest digest with one HEAD request, and only when the
// revision changed does it pull the selected layer and store it (extracted
// and filtered, or as it is) as an artifact.
package ocirepository

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/artifact"
	"github.com/tether-gitops/tether/pkg/controller/lifecycle"
	"github.com/tether-gitops/tether/pkg/controller/sourcectl"
	"github.com/tether-gitops/tether/pkg/source/git"
	"github.com/tether-gitops/tether/pkg/source/oci"
)

// Reasons specific to OCI sources.
const (
	OCIArtifactPullFailedReason           = "OCIArtifactPullFailed"
	OCIArtifactLayerOperationFailedReason = "OCIArtifactLayerOperationFailed"
	NewArtifactReason                     = "NewArtifact"
)

// Reconciler reconciles OCIRepository objects.
type Reconciler struct {
	client.Client
	Store    *artifact.Store
	Recorder recorder.EventRecorder
	// TempDir holds extracted layers while they are archived; empty means os.TempDir.
	TempDir string
	// Limits bound the extraction of a layer (and MaxBytes the size of a
	// copied one); zero fields mean artifact.DefaultLimits.
	Limits artifact.Limits
	// UserAgent is sent to registries.
	UserAgent string
}

// SetupWithManager registers the controller: it reconciles on spec changes,
// reconcile requests and every spec.interval.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&sourcev1.OCIRepository{}, lifecycle.ForPredicates()).
		WithOptions(opts).
		Named("ocirepository").
		Complete(r)
}

// Reconcile brings one OCIRepository's artifact up to date with its registry.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return lifecycle.Reconcile(ctx, r.Client, req, &sourcev1.OCIRepository{}, lifecycle.Steps[*sourcev1.OCIRepository]{
		Finalize:  sourcectl.RemoveArtifacts[*sourcev1.OCIRepository](r.Store, sourcev1.OCIRepositoryKind),
		Reconcile: r.reconcile,
	})
}

// reconcile runs the steps; a returned error means "retry with backoff", and
// the conditions already say what failed.
func (r *Reconciler) reconcile(ctx context.Context, obj *sourcev1.OCIRepository) error {
	sourcectl.MarkArtifactInStorage(obj, r.Store)
	if stalled := unsupported(obj); stalled != "" {
		lifecycle.Failed(obj, true, OCIArtifactPullFailedReason, "%s", stalled)
		return nil
	}

	opts, err := r.options(ctx, obj)
	if err != nil {
		return sourcectl.FetchFailed(obj, r.Recorder, "Fetch", meta.AuthenticationFailedReason, err)
	}
	c, err := oci.New(obj.Spec.URL, opts)
	switch {
	case errors.Is(err, oci.ErrInvalidURL):
		lifecycle.Failed(obj, true, meta.InvalidURLReason, "%s", err)
		return nil // retrying cannot fix the URL; the next spec change will
	case errors.Is(err, oci.ErrInvalidConfig):
		lifecycle.Failed(obj, true, OCIArtifactPullFailedReason, "%s", err)
		return nil
	case err != nil:
		return sourcectl.FetchFailed(obj, r.Recorder, "Fetch", reasonFor(err), err)
	}

	res, err := c.Resolve(ctx, refOf(obj))
	if errors.Is(err, oci.ErrInvalidConfig) {
		lifecycle.Failed(obj, true, OCIArtifactPullFailedReason, "%s", err)
		return nil
	}
	if err != nil {
		return sourcectl.FetchFailed(obj, r.Recorder, "Fetch", reasonFor(err), err)
	}
	if r.upToDate(obj, res.Revision) {
		meta.DeleteCondition(obj, meta.FetchFailedCondition)
		lifecycle.Succeeded(obj, meta.SucceededReason, "stored artifact for revision '%s'", res.Revision)
		return nil
	}

	lifecycle.Progressing(obj, "building artifact for revision '%s'", res.Revision)
	layer, err := c.Layer(ctx, res, obj.GetLayerMediaType())
	if err != nil {
		return sourcectl.FetchFailed(obj, r.Recorder, "Fetch", reasonFor(err), err)
	}
	var a meta.Artifact
	if obj.GetLayerOperation() == sourcev1.OCILayerCopy {
		a, err = r.copyLayer(obj, layer, res.Revision)
	} else {
		a, err = r.extractLayer(obj, layer, res.Revision)
	}
	if err != nil {
		return err
	}
	meta.DeleteCondition(obj, meta.FetchFailedCondition)
	if len(layer.Annotations) > 0 {
		a.Metadata = layer.Annotations
	}

	previous := obj.Status.Artifact
	obj.Status.Artifact = &a
	obj.Status.ObservedIgnore = obj.Spec.Ignore
	obj.Status.ObservedLayerSelector = obj.Spec.LayerSelector.DeepCopy()
	meta.MarkTrue(obj, meta.ArtifactInStorageCondition, meta.SucceededReason, "stored artifact for revision '%s'", a.Revision)
	meta.DeleteCondition(obj, meta.ArtifactOutdatedCondition)
	meta.DeleteCondition(obj, meta.StorageOperationFailedCondition)
	lifecycle.Succeeded(obj, meta.SucceededReason, "stored artifact for revision '%s'", a.Revision)
	if previous == nil || previous.Digest != a.Digest {
		r.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, NewArtifactReason, "Store",
			"stored artifact for revision '%s' (layer %s)", a.Revision, layer.Digest)
	}
	if removed, err := r.Store.GC(r.ref(obj), a); err != nil {
		log.FromContext(ctx).Error(err, "garbage collecting old artifacts")
	} else if len(removed) > 0 {
		log.FromContext(ctx).V(1).Info("garbage collected old artifacts", "files", removed)
	}
	return nil
}

// extractLayer unpacks the layer safely and archives it with the ignore rules.
func (r *Reconciler) extractLayer(obj *sourcev1.OCIRepository, layer *oci.Layer, revision string) (meta.Artifact, error) {
	tmp, err := os.MkdirTemp(r.TempDir, "ocirepository-")
	if err != nil {
		return meta.Artifact{}, sourcectl.StorageFailed(obj, err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "content")
	if err := layer.Extract(dir, r.Limits); err != nil {
		return meta.Artifact{}, sourcectl.FetchFailed(obj, r.Recorder, "Fetch", reasonFor(err), fmt.Errorf("%w: the artifact was not updated", err))
	}
	ignore, err := git.LoadIgnore(dir, obj.Spec.Ignore)
	if err != nil {
		lifecycle.Failed(obj, false, OCIArtifactLayerOperationFailedReason, "reading ignore rules: %s", err)
		return meta.Artifact{}, err
	}
	a, err := r.Store.ArchiveDir(r.ref(obj), dir, revision, func(rel string, d fs.DirEntry) bool {
		return !ignore(strings.TrimPrefix(rel, "./"), d.IsDir())
	})
	if err != nil {
		return meta.Artifact{}, sourcectl.StorageFailed(obj, err)
	}
	return a, nil
}

// copyLayer stores the layer as it is; its size and digest are checked while
// it streams into the store.
func (r *Reconciler) copyLayer(obj *sourcev1.OCIRepository, layer *oci.Layer, revision string) (meta.Artifact, error) {
	max := r.Limits.MaxBytes
	if max == 0 {
		max = artifact.DefaultLimits().MaxBytes
	}
	rc, err := layer.Open(max)
	if err != nil {
		return meta.Artifact{}, sourcectl.FetchFailed(obj, r.Recorder, "Fetch", reasonFor(err), err)
	}
	defer rc.Close()
	a, err := r.Store.StoreReader(r.ref(obj), rc, revision, layer.FileExt())
	if err != nil {
		return meta.Artifact{}, sourcectl.FetchFailed(obj, r.Recorder, "Fetch", OCIArtifactLayerOperationFailedReason,
			fmt.Errorf("copying layer %s of %s: %w", layer.Digest, obj.Spec.URL, err))
	}
	return a, nil
}

// upToDate reports whether the stored artifact already holds this revision
// built from the current spec, so that nothing needs to be pulled.
func (r *Reconciler) upToDate(obj *sourcev1.OCIRepository, revision string) bool {
	a := obj.Status.Artifact
	return a != nil && a.Revision == revision && r.Store.Exists(*a) &&
		reflect.DeepEqual(obj.Spec.Ignore, obj.Status.ObservedIgnore) &&
		reflect.DeepEqual(obj.Spec.LayerSelector, obj.Status.ObservedLayerSelector)
}

func (r *Reconciler) ref(obj *sourcev1.OCIRepository) artifact.ObjectRef {
	return sourcectl.Ref(sourcev1.OCIRepositoryKind, obj)
}

// unsupported names a spec field this reconciler cannot honour yet.
func unsupported(obj *sourcev1.OCIRepository) string {
	switch {
	case obj.Spec.Verify != nil:
		return "spec.verify is not supported yet: remove it to pull without signature verification"
	case obj.Spec.Provider != "" && obj.Spec.Provider != sourcev1.GenericProvider:
		return fmt.Sprintf("provider %q (cloud workload identity) is not supported yet: use the generic provider with spec.secretRef", obj.Spec.Provider)
	}
	return ""
}

func refOf(obj *sourcev1.OCIRepository) oci.Ref {
	if obj.Spec.Reference == nil {
		return oci.Ref{}
	}
	r := obj.Spec.Reference
	return oci.Ref{Tag: r.Tag, SemVer: r.SemVer, SemverFilter: r.SemverFilter, Digest: r.Digest}
}

func reasonFor(err error) string {
	switch {
	case errors.Is(err, oci.ErrAuthentication):
		return meta.AuthenticationFailedReason
	case errors.Is(err, oci.ErrLayer):
		return OCIArtifactLayerOperationFailedReason
	}
	return OCIArtifactPullFailedReason
}
