// Package sourcectl holds the status steps that every source reconciler
// (GitRepository, Bucket, OCIRepository, HelmRepository, HelmChart) shares
// around its artifact.
package sourcectl

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/artifact"
	"github.com/tether-gitops/tether/pkg/controller/lifecycle"
)

// Source is a source kind as the shared steps see it.
type Source interface {
	lifecycle.Object
	meta.ObjectWithArtifact
}

// Ref names the object's artifacts in the store.
func Ref(kind string, obj client.Object) artifact.ObjectRef {
	return artifact.ObjectRef{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// MarkArtifactInStorage notes an artifact that status names but storage lost
// (a new pod with an empty volume), so that it is rebuilt.
func MarkArtifactInStorage(obj Source, store *artifact.Store) {
	if a := obj.GetArtifact(); a != nil && !store.Exists(*a) {
		meta.MarkFalse(obj, meta.ArtifactInStorageCondition, meta.StorageOperationFailedReason,
			"artifact for revision '%s' is missing from storage", a.Revision)
	}
}

// FetchFailed records a failed fetch (action names what failed, for the
// event). The last artifact stays in storage and in status, so consumers keep
// working from it. It returns err, to retry with backoff.
func FetchFailed(obj Source, events recorder.EventRecorder, action, reason string, err error) error {
	meta.MarkTrue(obj, meta.FetchFailedCondition, reason, "%s", err)
	lifecycle.Failed(obj, false, reason, "%s", err)
	events.Eventf(obj, nil, corev1.EventTypeWarning, reason, action, "%s", err)
	return err
}

// StorageFailed records a failure to write the artifact, and returns err.
func StorageFailed(obj Source, err error) error {
	meta.MarkTrue(obj, meta.StorageOperationFailedCondition, meta.StorageOperationFailedReason, "%s", err)
	lifecycle.Failed(obj, false, meta.StorageOperationFailedReason, "%s", err)
	return err
}

// RemoveArtifacts is the Finalize step of a source: delete its artifacts.
func RemoveArtifacts[T Source](store *artifact.Store, kind string) func(context.Context, T) error {
	return func(_ context.Context, obj T) error {
		if err := store.Remove(Ref(kind, obj)); err != nil {
			return fmt.Errorf("removing artifacts: %w", err)
		}
		return nil
	}
}
