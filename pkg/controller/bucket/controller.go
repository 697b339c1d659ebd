// Package bucket reconciles Bucket objects: it lists the bucket once per
// interval, and only when the listing's revision changed does it download the
// objects that changed and store the tree as an artifact.
package bucket

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sync"

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
	"github.com/tether-gitops/tether/pkg/source/bucket"
)

// Reasons specific to Buckets.
const (
	BucketOperationFailedReason = "BucketOperationFailed"
	NewArtifactReason           = "NewArtifact"
)

// Reconciler reconciles Bucket objects.
type Reconciler struct {
	client.Client
	Store    *artifact.Store
	Recorder recorder.EventRecorder
	// TempDir holds downloads while they are archived; empty means os.TempDir.
	TempDir string
	// MaxBytes and MaxObjects bound one Bucket's download; zero means the
	// bucket package's defaults (1 GiB, 100,000 objects).
	MaxBytes   int64
	MaxObjects int

	// fetched remembers, per Bucket, the listing its artifact was built from
	// and its .sourceignore, so that a new revision downloads only the
	// objects that changed. Lost on restart, which costs one full download.
	fetched sync.Map // artifact.ObjectRef -> *fetchState
}

type fetchState struct {
	ignoreFile *bucket.IgnoreFile
	index      bucket.Index // objects in the artifact
	digest     string       // of the artifact
}

// SetupWithManager registers the controller: it reconciles on spec changes,
// reconcile requests and every spec.interval.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&sourcev1.Bucket{}, lifecycle.ForPredicates()).
		WithOptions(opts).
		Named("bucket").
		Complete(r)
}

// Reconcile brings one Bucket's artifact up to date with its objects.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return lifecycle.Reconcile(ctx, r.Client, req, &sourcev1.Bucket{}, lifecycle.Steps[*sourcev1.Bucket]{
		Finalize:  r.finalize,
		Reconcile: r.reconcile,
	})
}

// reconcile runs the steps; a returned error means "retry with backoff", and
// the conditions already say what failed.
func (r *Reconciler) reconcile(ctx context.Context, obj *sourcev1.Bucket) error {
	sourcectl.MarkArtifactInStorage(obj, r.Store)

	opts, err := r.options(ctx, obj)
	if err != nil {
		return sourcectl.FetchFailed(obj, r.Recorder, "Fetch", meta.AuthenticationFailedReason, err)
	}
	if obj.Spec.STS != nil {
		lifecycle.Failed(obj, true, BucketOperationFailedReason,
			"spec.sts (provider %q) is not supported yet: use static keys in spec.secretRef", obj.Spec.STS.Provider)
		return nil
	}
	c, err := bucket.New(obj.Spec.BucketName, opts)
	if err != nil {
		lifecycle.Failed(obj, true, BucketOperationFailedReason, "%s", err)
		return nil // retrying cannot fix the spec; the next spec change will
	}

	state := r.state(obj)
	snap, err := c.Snapshot(ctx, bucket.SnapshotOptions{
		Prefix: obj.Spec.Prefix, Ignore: obj.Spec.Ignore, CachedIgnoreFile: state.ignoreFile,
	})
	if err != nil {
		return sourcectl.FetchFailed(obj, r.Recorder, "Fetch", reasonFor(err), err)
	}
	if r.upToDate(obj, snap.Revision) {
		meta.DeleteCondition(obj, meta.FetchFailedCondition)
		lifecycle.Succeeded(obj, meta.SucceededReason, "stored artifact for revision '%s'", snap.Revision)
		r.remember(obj, &fetchState{ignoreFile: snap.IgnoreFile, index: state.index, digest: state.digest})
		return nil
	}

	lifecycle.Progressing(obj, "building artifact for revision '%s'", snap.Revision)
	dir, err := os.MkdirTemp(r.TempDir, "bucket-")
	if err != nil {
		return sourcectl.StorageFailed(obj, err)
	}
	defer os.RemoveAll(dir)

	have := r.reuse(ctx, obj, state, dir)
	stats, err := c.Download(ctx, snap.Index, dir, bucket.DownloadOptions{
		Have: have, IgnoreFile: snap.IgnoreFile, MaxBytes: r.MaxBytes, MaxObjects: r.MaxObjects,
	})
	if errors.Is(err, bucket.ErrLimit) {
		err = fmt.Errorf("%w; the limits are the reconciler's --artifact-max-size and --artifact-max-files", err)
	}
	if err != nil {
		return sourcectl.FetchFailed(obj, r.Recorder, "Fetch", reasonFor(err), err)
	}
	log.FromContext(ctx).V(1).Info("downloaded bucket objects", "revision", snap.Revision,
		"downloaded", stats.Downloaded, "bytes", stats.Bytes, "reused", stats.Reused, "removed", stats.Removed, "ignored", snap.Ignored)
	meta.DeleteCondition(obj, meta.FetchFailedCondition)

	a, err := r.Store.ArchiveDir(r.ref(obj), dir, snap.Revision, nil)
	if err != nil {
		return sourcectl.StorageFailed(obj, err)
	}
	r.remember(obj, &fetchState{ignoreFile: snap.IgnoreFile, index: snap.Index, digest: a.Digest})

	previous := obj.Status.Artifact
	obj.Status.Artifact = &a
	obj.Status.ObservedIgnore = obj.Spec.Ignore
	meta.MarkTrue(obj, meta.ArtifactInStorageCondition, meta.SucceededReason, "stored artifact for revision '%s'", a.Revision)
	meta.DeleteCondition(obj, meta.ArtifactOutdatedCondition)
	meta.DeleteCondition(obj, meta.StorageOperationFailedCondition)
	lifecycle.Succeeded(obj, meta.SucceededReason, "stored artifact for revision '%s'", a.Revision)
	if previous == nil || previous.Digest != a.Digest {
		r.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, NewArtifactReason, "Store",
			"stored artifact with %d objects for revision '%s'", len(snap.Index), a.Revision)
	}
	if removed, err := r.Store.GC(r.ref(obj), a); err != nil {
		log.FromContext(ctx).Error(err, "garbage collecting old artifacts")
	} else if len(removed) > 0 {
		log.FromContext(ctx).V(1).Info("garbage collected old artifacts", "files", removed)
	}
	return nil
}

// upToDate reports whether the stored artifact already holds this revision
// built from the current spec, so that nothing needs to be downloaded.
func (r *Reconciler) upToDate(obj *sourcev1.Bucket, revision string) bool {
	a := obj.Status.Artifact
	return a != nil && a.Revision == revision && r.Store.Exists(*a) &&
		reflect.DeepEqual(obj.Spec.Ignore, obj.Status.ObservedIgnore)
}

// reuse extracts the current artifact into dir when this process built it,
// so that Download fetches only the objects that changed since; it returns
// the listing dir then holds (nil if it holds nothing).
func (r *Reconciler) reuse(ctx context.Context, obj *sourcev1.Bucket, state *fetchState, dir string) bucket.Index {
	a := obj.Status.Artifact
	if state.index == nil || a == nil || a.Digest != state.digest || !r.Store.Exists(*a) {
		return nil
	}
	if err := r.Store.ExtractTo(*a, dir); err != nil {
		log.FromContext(ctx).Info("cannot reuse the previous artifact; downloading every object", "error", err.Error())
		_ = os.RemoveAll(dir)
		_ = os.MkdirAll(dir, 0o700)
		return nil
	}
	return state.index
}

func (r *Reconciler) state(obj *sourcev1.Bucket) *fetchState {
	if v, ok := r.fetched.Load(r.ref(obj)); ok {
		return v.(*fetchState)
	}
	return &fetchState{}
}

func (r *Reconciler) remember(obj *sourcev1.Bucket, s *fetchState) { r.fetched.Store(r.ref(obj), s) }

// finalize deletes the object's artifacts and forgets its last listing.
func (r *Reconciler) finalize(_ context.Context, obj *sourcev1.Bucket) error {
	if err := r.Store.Remove(r.ref(obj)); err != nil {
		return fmt.Errorf("removing artifacts: %w", err)
	}
	r.fetched.Delete(r.ref(obj))
	return nil
}

func (r *Reconciler) ref(obj *sourcev1.Bucket) artifact.ObjectRef {
	return sourcectl.Ref(sourcev1.BucketKind, obj)
}

func reasonFor(err error) string {
	if errors.Is(err, bucket.ErrAuthentication) {
		return meta.AuthenticationFailedReason
	}
	return BucketOperationFailedReason
}
