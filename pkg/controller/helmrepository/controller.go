// Package helmrepository reconciles HelmRepository objects: for an HTTP(S)
// repository it downloads and validates index.yaml and stores it as the
// artifact (a new one only when the index changed); for an OCI registry it
// checks the login and stores nothing, since charts are pulled per HelmChart.
package helmrepository

import (
	"context"
	"errors"
	"fmt"
	"os"

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
	"github.com/tether-gitops/tether/pkg/source/helm"
	"github.com/tether-gitops/tether/pkg/source/helmrepo"
)

// NewArtifactReason is the reason of the event sent when a new index is stored.
const NewArtifactReason = "NewArtifact"

// Reconciler reconciles HelmRepository objects.
type Reconciler struct {
	client.Client
	Store    *artifact.Store
	Recorder recorder.EventRecorder
	// Cache keeps downloaded indexes; share it with the HelmChart reconciler.
	// Nil means a process-wide cache under the temporary directory.
	Cache *helm.Cache
}

// SetupWithManager registers the controller: it reconciles on spec changes,
// reconcile requests and every spec.interval.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&sourcev1.HelmRepository{}, lifecycle.ForPredicates()).
		WithOptions(opts).
		Named("helmrepository").
		Complete(r)
}

// Reconcile brings one HelmRepository's index artifact up to date.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return lifecycle.Reconcile(ctx, r.Client, req, &sourcev1.HelmRepository{}, lifecycle.Steps[*sourcev1.HelmRepository]{
		Finalize:  sourcectl.RemoveArtifacts[*sourcev1.HelmRepository](r.Store, sourcev1.HelmRepositoryKind),
		Reconcile: r.reconcile,
	})
}

// reconcile runs the steps; a returned error means "retry with backoff", and
// the conditions already say what failed.
func (r *Reconciler) reconcile(ctx context.Context, obj *sourcev1.HelmRepository) error {
	opts, err := helmrepo.Options(ctx, r.Client, obj)
	if err != nil {
		return sourcectl.FetchFailed(obj, r.Recorder, "Fetch", meta.AuthenticationFailedReason, err)
	}
	if obj.IsOCI() {
		return r.reconcileOCI(ctx, obj, opts)
	}
	sourcectl.MarkArtifactInStorage(obj, r.Store)

	repo, err := helm.NewRepository(obj.Spec.URL, opts, r.Cache)
	if err != nil {
		return r.clientFailed(obj, err)
	}
	idx, err := repo.FetchIndex(ctx)
	if err != nil {
		return sourcectl.FetchFailed(obj, r.Recorder, "Fetch", reasonFor(err), err)
	}
	meta.DeleteCondition(obj, meta.FetchFailedCondition)

	if a := obj.Status.Artifact; a.HasRevision(idx.Digest) && r.Store.Exists(*a) {
		lifecycle.Succeeded(obj, meta.SucceededReason, "stored artifact: revision '%s'", a.Revision)
		return nil
	}
	lifecycle.Progressing(obj, "storing index revision '%s'", idx.Digest)
	a, err := r.storeIndex(obj, idx)
	if err != nil {
		return sourcectl.StorageFailed(obj, err)
	}

	previous := obj.Status.Artifact
	obj.Status.Artifact = &a
	obj.Status.URL = a.URL
	meta.MarkTrue(obj, meta.ArtifactInStorageCondition, meta.SucceededReason, "stored artifact: revision '%s'", a.Revision)
	meta.DeleteCondition(obj, meta.StorageOperationFailedCondition)
	lifecycle.Succeeded(obj, meta.SucceededReason, "stored artifact: revision '%s'", a.Revision)
	if previous == nil || previous.Digest != a.Digest {
		versions := 0
		for _, e := range idx.Entries {
			versions += len(e)
		}
		r.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, NewArtifactReason, "Store",
			"stored index with %d charts (%d versions), revision '%s'", len(idx.Entries), versions, a.Revision)
	}
	if removed, err := r.Store.GC(r.ref(obj), a); err != nil {
		log.FromContext(ctx).Error(err, "garbage collecting old artifacts")
	} else if len(removed) > 0 {
		log.FromContext(ctx).V(1).Info("garbage collected old artifacts", "files", removed)
	}
	return nil
}

func (r *Reconciler) storeIndex(obj *sourcev1.HelmRepository, idx *helm.Index) (meta.Artifact, error) {
	f, err := os.Open(idx.Path)
	if err != nil {
		return meta.Artifact{}, fmt.Errorf("reading the downloaded index: %w", err)
	}
	defer f.Close()
	return r.Store.StoreReader(r.ref(obj), f, idx.Digest, "yaml")
}

// reconcileOCI checks an OCI registry: there is no index, so no artifact;
// with credentials the login is validated.
func (r *Reconciler) reconcileOCI(ctx context.Context, obj *sourcev1.HelmRepository, opts helm.Options) error {
	if obj.Status.Artifact != nil { // the type changed from default: drop the old index
		if err := r.Store.Remove(r.ref(obj)); err != nil {
			return sourcectl.StorageFailed(obj, fmt.Errorf("removing the index of the former default repository: %w", err))
		}
		obj.Status.Artifact, obj.Status.URL = nil, ""
		meta.DeleteCondition(obj, meta.ArtifactInStorageCondition)
	}
	if p := obj.Spec.Provider; p != "" && p != sourcev1.GenericProvider {
		lifecycle.Failed(obj, true, meta.AuthenticationFailedReason,
			"provider %q is not supported yet: use provider generic with spec.secretRef", p)
		return nil
	}
	o, err := helm.NewOCIRepository(obj.Spec.URL, opts, r.Cache)
	if err != nil {
		return r.clientFailed(obj, err)
	}
	if opts.Username != "" {
		if err := o.Login(ctx); err != nil {
			return sourcectl.FetchFailed(obj, r.Recorder, "Fetch", meta.AuthenticationFailedReason, err)
		}
	}
	meta.DeleteCondition(obj, meta.FetchFailedCondition)
	meta.DeleteCondition(obj, meta.StorageOperationFailedCondition)
	lifecycle.Succeeded(obj, meta.SucceededReason,
		"Helm repository is ready: charts are pulled from the OCI registry per release, no index is stored")
	return nil
}

// clientFailed records an invalid URL (stalled: only a spec change fixes
// it) or invalid TLS data in a secret (retried: the secret can be fixed).
func (r *Reconciler) clientFailed(obj *sourcev1.HelmRepository, err error) error {
	if errors.Is(err, helm.ErrInvalidReference) {
		lifecycle.Failed(obj, true, meta.InvalidURLReason, "%s", err)
		return nil
	}
	return sourcectl.FetchFailed(obj, r.Recorder, "Fetch", meta.AuthenticationFailedReason, err)
}

func (r *Reconciler) ref(obj *sourcev1.HelmRepository) artifact.ObjectRef {
	return sourcectl.Ref(sourcev1.HelmRepositoryKind, obj)
}

func reasonFor(err error) string {
	if errors.Is(err, helm.ErrAuthentication) {
		return meta.AuthenticationFailedReason
	}
	return sourcev1.IndexationFailedReason
}
