// Package gitrepository reconciles GitRepository objects: it resolves the ref
// with one ls-remote, clones only when the revision changed, verifies, applies
// includes and ignore rules, and stores the tree as an artifact.
package gitrepository

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"

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
	"github.com/tether-gitops/tether/pkg/source/git"
)

// Reasons specific to Git sources.
const (
	GitOperationFailedReason = "GitOperationFailed"
	NewArtifactReason        = "NewArtifact"
	includeIndexKey          = ".spec.include.repository.name"
)

// Reconciler reconciles GitRepository objects.
type Reconciler struct {
	client.Client
	Store    *artifact.Store
	Recorder recorder.EventRecorder
	// TempDir holds clones while they are archived; empty means os.TempDir.
	TempDir string
}

// SetupWithManager registers the controller: it reconciles on spec changes and
// reconcile requests, and when a repository it includes has a new artifact.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &sourcev1.GitRepository{}, includeIndexKey,
		func(o client.Object) []string {
			var names []string
			for _, inc := range o.(*sourcev1.GitRepository).Spec.Include {
				names = append(names, inc.GitRepositoryRef.Name)
			}
			return names
		}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&sourcev1.GitRepository{}, lifecycle.ForPredicates()).
		Watches(&sourcev1.GitRepository{}, handler.EnqueueRequestsFromMapFunc(r.includers),
			builder.WithPredicates(lifecycle.ArtifactChangedPredicate{})).
		WithOptions(opts).
		Named("gitrepository").
		Complete(r)
}

// includers maps a GitRepository to the ones that include it.
func (r *Reconciler) includers(ctx context.Context, o client.Object) []reconcile.Request {
	var list sourcev1.GitRepositoryList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{includeIndexKey: o.GetName()}); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, item := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&item)})
	}
	return reqs
}

// Reconcile brings one GitRepository's artifact up to date with its remote.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return lifecycle.Reconcile(ctx, r.Client, req, &sourcev1.GitRepository{}, lifecycle.Steps[*sourcev1.GitRepository]{
		Finalize:  sourcectl.RemoveArtifacts[*sourcev1.GitRepository](r.Store, sourcev1.GitRepositoryKind),
		Reconcile: r.reconcile,
	})
}

// reconcile runs the steps; a returned error means "retry with backoff", and
// the conditions already say what failed.
func (r *Reconciler) reconcile(ctx context.Context, obj *sourcev1.GitRepository) error {
	sourcectl.MarkArtifactInStorage(obj, r.Store)

	auth, err := r.auth(ctx, obj)
	if err != nil {
		return sourcectl.FetchFailed(obj, r.Recorder, "Fetch", meta.AuthenticationFailedReason, err)
	}
	var opts []git.Option
	if obj.Spec.RecurseSubmodules {
		opts = append(opts, git.WithRecurseSubmodules())
	}
	c, err := git.New(obj.Spec.URL, auth, opts...)
	if err != nil {
		lifecycle.Failed(obj, true, meta.InvalidURLReason, "%s", err)
		return nil // retrying cannot fix the URL; the next spec change will
	}
	ref := refOf(obj)

	rev, err := c.Resolve(ctx, ref)
	if err != nil {
		return sourcectl.FetchFailed(obj, r.Recorder, "Fetch", reasonFor(err), fmt.Errorf("resolving %s: %w", describeRef(ref), err))
	}
	if r.upToDate(obj, rev.Revision) {
		meta.DeleteCondition(obj, meta.FetchFailedCondition)
		lifecycle.Succeeded(obj, meta.SucceededReason, "stored artifact for revision '%s'", rev.Revision)
		return nil
	}

	lifecycle.Progressing(obj, "building artifact for revision '%s'", rev.Revision)
	dir, err := os.MkdirTemp(r.TempDir, "gitrepository-")
	if err != nil {
		return sourcectl.StorageFailed(obj, err)
	}
	defer os.RemoveAll(dir)

	commit, err := c.Checkout(ctx, ref, dir)
	if err != nil {
		return sourcectl.FetchFailed(obj, r.Recorder, "Fetch", reasonFor(err), fmt.Errorf("checking out %s: %w", describeRef(ref), err))
	}
	meta.DeleteCondition(obj, meta.FetchFailedCondition)

	if err := r.verify(ctx, obj, commit); err != nil {
		return err
	}
	included, err := r.include(ctx, obj, dir)
	if err != nil {
		return err
	}
	ignore, err := git.LoadIgnore(dir, obj.Spec.Ignore)
	if err != nil {
		lifecycle.Failed(obj, false, meta.BuildFailedReason, "reading ignore rules: %s", err)
		return err
	}
	a, err := r.Store.ArchiveDir(r.ref(obj), dir, commit.Revision, ignoreFilter(ignore))
	if errors.Is(err, artifact.ErrLimit) {
		// Retrying cannot help until the repository or the limits change: the
		// next interval looks again, the last artifact stays.
		err = fmt.Errorf("revision '%s' is too large for an artifact (%w): leave files out with spec.ignore or .sourceignore, or raise the reconciler's --artifact-max-size / --artifact-max-files", commit.Revision, err)
		lifecycle.Failed(obj, false, meta.BuildFailedReason, "%s", err)
		r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, meta.BuildFailedReason, "Store", "%s", err)
		return nil
	}
	if err != nil {
		return sourcectl.StorageFailed(obj, err)
	}

	previous := obj.Status.Artifact
	obj.Status.Artifact = &a
	obj.Status.IncludedArtifacts = included
	obj.Status.ObservedIgnore = obj.Spec.Ignore
	obj.Status.ObservedInclude = obj.Spec.Include
	obj.Status.ObservedRecurseSubmodules = obj.Spec.RecurseSubmodules
	meta.MarkTrue(obj, meta.ArtifactInStorageCondition, meta.SucceededReason, "stored artifact for revision '%s'", a.Revision)
	meta.DeleteCondition(obj, meta.ArtifactOutdatedCondition)
	meta.DeleteCondition(obj, meta.StorageOperationFailedCondition)
	lifecycle.Succeeded(obj, meta.SucceededReason, "stored artifact for revision '%s'", a.Revision)
	if previous == nil || previous.Digest != a.Digest {
		r.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, NewArtifactReason, "Store",
			"stored artifact for commit '%s'", firstLine(commit.Message))
	}
	if removed, err := r.Store.GC(r.ref(obj), a); err != nil {
		log.FromContext(ctx).Error(err, "garbage collecting old artifacts")
	} else if len(removed) > 0 {
		log.FromContext(ctx).V(1).Info("garbage collected old artifacts", "files", removed)
	}
	return nil
}

// upToDate reports whether the stored artifact already holds this revision
// built from the current spec, so that nothing needs to be fetched.
func (r *Reconciler) upToDate(obj *sourcev1.GitRepository, revision string) bool {
	a := obj.Status.Artifact
	if a == nil || a.Revision != revision || !r.Store.Exists(*a) {
		return false
	}
	if !reflect.DeepEqual(obj.Spec.Ignore, obj.Status.ObservedIgnore) ||
		!reflect.DeepEqual(obj.Spec.Include, obj.Status.ObservedInclude) ||
		obj.Spec.RecurseSubmodules != obj.Status.ObservedRecurseSubmodules {
		return false
	}
	if obj.Spec.Verification != nil && !meta.IsTrue(obj, meta.SourceVerifiedCondition) {
		return false
	}
	if obj.Spec.Verification == nil && meta.GetCondition(obj, meta.SourceVerifiedCondition) != nil {
		return false
	}
	return r.includesUnchanged(obj)
}

func (r *Reconciler) ref(obj *sourcev1.GitRepository) artifact.ObjectRef {
	return sourcectl.Ref(sourcev1.GitRepositoryKind, obj)
}

func refOf(obj *sourcev1.GitRepository) git.Ref {
	if obj.Spec.Reference == nil {
		return git.Ref{}
	}
	r := obj.Spec.Reference
	return git.Ref{Branch: r.Branch, Tag: r.Tag, SemVer: r.SemVer, Name: r.Name, Commit: r.Commit}
}

func describeRef(r git.Ref) string {
	switch {
	case r.Commit != "":
		return "commit " + r.Commit
	case r.Name != "":
		return "ref " + r.Name
	case r.SemVer != "":
		return "semver " + r.SemVer
	case r.Tag != "":
		return "tag " + r.Tag
	case r.Branch != "":
		return "branch " + r.Branch
	}
	return "the default branch"
}

func reasonFor(err error) string {
	if errors.Is(err, git.ErrAuthentication) || errors.Is(err, git.ErrHostKey) {
		return meta.AuthenticationFailedReason
	}
	return GitOperationFailedReason
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
