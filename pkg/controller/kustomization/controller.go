// Package kustomization reconciles Kustomizations: it builds a path of a
// source's artifact with kustomize, applies the result with server-side
// apply, prunes what left the build, and checks the health of what it applied.
package kustomization

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
	"sigs.k8s.io/controller-runtime/pkg/source"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/artifact"
	"github.com/tether-gitops/tether/pkg/controller/consumer"
	"github.com/tether-gitops/tether/pkg/controller/lifecycle"
	"github.com/tether-gitops/tether/pkg/ssa"
)

// FieldManager is the server-side apply field manager of applied objects.
const FieldManager = "tether"

const (
	sourceIndexKey     = ".spec.sourceRef"
	dependencyIndexKey = ".spec.dependsOn"
)

// Reconciler reconciles Kustomization objects.
type Reconciler struct {
	// Client reads Tether's kinds from the manager's cache.
	client.Client
	// Config is the reconciler's own REST config, from which the clients
	// that apply (as the reconciler, or impersonating a service account)
	// are made. Applied objects are read directly, never cached.
	Config   *rest.Config
	Store    *artifact.Store
	Recorder recorder.EventRecorder
	// Concurrency bounds the API requests of one Kustomization's apply.
	Concurrency int
	// TempDir holds extracted artifacts; empty means os.TempDir.
	TempDir string
	// DefaultServiceAccount is impersonated when spec.serviceAccountName is
	// empty, so that a tenant cannot apply with the reconciler's rights.
	DefaultServiceAccount string
	// NoCrossNamespaceRefs refuses sources and dependencies in other namespaces.
	NoCrossNamespaceRefs bool
	// AllowRemoteBases lets builds fetch http(s) files (--allow-remote-bases).
	AllowRemoteBases bool

	targets   *consumer.Targets
	workspace *workspace
	health    *healthTracker
	applied   consumer.Applied
}

// SetupWithManager registers the controller: it reconciles on spec changes,
// reconcile requests, a new artifact of its source, and a dependency that
// becomes ready.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	ctx := context.Background()
	r.targets = consumer.NewTargets(r.Config, mgr.GetScheme(), mgr.GetRESTMapper(), mgr.GetHTTPClient())
	r.workspace = newWorkspace(r.Store, r.TempDir)
	r.health = newHealthTracker(func(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) (ssa.HealthReport, error) {
		return r.newSSA(c).Health(ctx, objs)
	})
	if err := mgr.Add(r.health); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &kustomizev1.Kustomization{}, sourceIndexKey, func(o client.Object) []string {
		ks := o.(*kustomizev1.Kustomization)
		ref := ks.Spec.SourceRef
		return []string{consumer.ObjectKey(ref.Kind, ref.NamespaceOr(ks.Namespace), ref.Name)}
	}); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &kustomizev1.Kustomization{}, dependencyIndexKey, func(o client.Object) []string {
		ks := o.(*kustomizev1.Kustomization)
		keys := make([]string, 0, len(ks.Spec.DependsOn))
		for _, d := range ks.Spec.DependsOn {
			keys = append(keys, consumer.ObjectKey(d.KindOr(kustomizev1.KustomizationKind), d.NamespaceOr(ks.Namespace), d.Name))
		}
		return keys
	}); err != nil {
		return err
	}
	onNewArtifact := builder.WithPredicates(lifecycle.ArtifactChangedPredicate{})
	onReady := builder.WithPredicates(consumer.ReadyChangedPredicate{})
	return ctrl.NewControllerManagedBy(mgr).
		For(&kustomizev1.Kustomization{}, lifecycle.ForPredicates()).
		Watches(&sourcev1.GitRepository{}, r.enqueueBy(sourceIndexKey, sourcev1.GitRepositoryKind), onNewArtifact).
		Watches(&sourcev1.OCIRepository{}, r.enqueueBy(sourceIndexKey, sourcev1.OCIRepositoryKind), onNewArtifact).
		Watches(&sourcev1.Bucket{}, r.enqueueBy(sourceIndexKey, sourcev1.BucketKind), onNewArtifact).
		Watches(&kustomizev1.Kustomization{}, r.enqueueBy(dependencyIndexKey, kustomizev1.KustomizationKind), onReady).
		Watches(&helmv1.HelmRelease{}, r.enqueueBy(dependencyIndexKey, helmv1.HelmReleaseKind), onReady).
		WatchesRawSource(source.Channel(r.health.done, &handler.EnqueueRequestForObject{})).
		WithOptions(opts).
		Named("kustomization").
		Complete(r)
}

func namespaceOr(ns, def string) string {
	if ns == "" {
		return def
	}
	return ns
}

// enqueueBy maps an object of kind to the Kustomizations whose index names it.
func (r *Reconciler) enqueueBy(index, kind string) handler.EventHandler {
	return consumer.EnqueueBy(r.Client, func() meta.ReconcilableList { return &kustomizev1.KustomizationList{} }, index, kind)
}

// Reconcile brings the objects of one Kustomization in line with its source.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ks := &kustomizev1.Kustomization{}
	res, err := lifecycle.Reconcile(ctx, r.Client, req, ks, lifecycle.Steps[*kustomizev1.Kustomization]{
		Finalize:  r.finalize,
		Reconcile: r.reconcile,
	})
	if ks.UID == "" {
		// Not found: gone without its finalizer running here (it was
		// removed by hand, or deleted while suspended, which the finalizer
		// skips); what is kept in memory for it goes too.
		r.forget(ctx, req.NamespacedName)
	}
	return res, err
}

func (r *Reconciler) forget(ctx context.Context, name types.NamespacedName) {
	if err := r.Get(ctx, name, &kustomizev1.Kustomization{}); !apierrors.IsNotFound(err) {
		return
	}
	r.health.forget(name)
	r.applied.Forget(name)
}

// reconcile: dependencies ready → source artifact → (health check still in
// progress? check it) → build → apply → prune → health → status.
func (r *Reconciler) reconcile(ctx context.Context, ks *kustomizev1.Kustomization) error {
	key := client.ObjectKeyFromObject(ks)
	if err := r.checkAccess(ks); err != nil {
		r.dropHealth(ks)
		return r.fail(ctx, ks, meta.AccessDeniedReason, err)
	}
	if err := r.checkDependencies(ctx, ks); err != nil {
		r.dropHealth(ks)
		return r.fail(ctx, ks, meta.DependencyNotReadyReason, err)
	}
	src, err := r.source(ctx, ks)
	if err != nil {
		r.dropHealth(ks)
		return r.fail(ctx, ks, meta.ArtifactFailedReason, err)
	}
	revision := src.GetArtifact().Revision

	// A health check under way for this very generation and revision is
	// continued, without building and applying again; one for another is
	// superseded.
	if p, ok := r.health.get(key, pendingKey(ks, revision)); ok {
		return r.continueHealth(ctx, ks, revision, p)
	}
	r.dropHealth(ks)

	before := stashedStatus{inventory: ks.Status.Inventory, attempted: ks.Status.LastAttemptedRevision}
	ks.Status.LastAttemptedRevision = revision
	objs, origins, err := r.build(ctx, ks, src)
	if err != nil {
		return r.fail(ctx, ks, meta.BuildFailedReason, err)
	}
	c, err := r.client(ctx, ks)
	if err != nil {
		return r.fail(ctx, ks, meta.AccessDeniedReason, err)
	}
	changes, applyErr := r.apply(ctx, ks, c, objs, origins)
	if applyErr != nil {
		return r.fail(ctx, ks, meta.ReconciliationFailedReason, applyErr)
	}
	if err := r.prune(ctx, ks, c, objs); err != nil {
		reason := meta.PruneFailedReason
		if isPruneLimit(err) {
			reason = kustomizev1.PruneLimitExceededReason
		}
		return r.fail(ctx, ks, reason, err)
	}
	changed := r.logApplied(ctx, revision, changes)

	checks, err := r.healthChecks(ks, objs)
	if err != nil {
		r.eventApplied(ks, revision, changed)
		return r.fail(ctx, ks, meta.HealthCheckFailedReason, err)
	}
	if len(checks) == 0 {
		return r.succeed(ctx, ks, revision, changed)
	}
	p := &pendingHealth{key: pendingKey(ks, revision), objs: checks, client: c, changed: changed,
		started: time.Now(), deadline: time.Now().Add(ks.GetTimeout())}
	return r.startHealth(ctx, ks, revision, p, before)
}

// finalize deletes the applied objects when the deletion policy says so,
// unless the Kustomization is suspended.
func (r *Reconciler) finalize(ctx context.Context, ks *kustomizev1.Kustomization) error {
	r.dropHealth(ks)
	r.applied.Forget(client.ObjectKeyFromObject(ks))
	if ks.Spec.Suspend || ks.Status.Inventory == nil || len(ks.Status.Inventory.Entries) == 0 {
		return nil
	}
	policy := ks.GetDeletionPolicy()
	if policy == kustomizev1.DeletionPolicyOrphan || (policy == kustomizev1.DeletionPolicyMirrorPrune && !ks.Spec.Prune) {
		return nil
	}
	c, err := r.client(ctx, ks)
	if err != nil {
		return fmt.Errorf("deleting the objects of %s/%s: %w", ks.Namespace, ks.Name, err)
	}
	objs, err := inventoryObjects(ks.Status.Inventory)
	if err != nil {
		return err
	}
	changes, err := r.newSSA(c).DeleteAll(ctx, objs, r.deleteOptions(ks))
	if err != nil {
		return fmt.Errorf("deleting the objects of %s/%s: %w", ks.Namespace, ks.Name, err)
	}
	if deleted := changes.Changed(); len(deleted) > 0 {
		log.FromContext(ctx).Info("deleted the applied objects", "changes", deleted.Summary())
	}
	if policy == kustomizev1.DeletionPolicyWaitForTermination {
		return r.newSSA(c).WaitForDeletion(ctx, objs, ks.GetTimeout())
	}
	return nil
}

// dropHealth ends the health check of ks that is not to be continued: a
// new generation, revision or reconcile request supersedes it, a failure
// before the apply ends it, or ks is being deleted. The status has not
// recorded the inventory of the check's apply yet (it waits in the check),
// so it is put in ks here: the prune or finalizer that comes next must know
// the objects that apply created.
func (r *Reconciler) dropHealth(ks *kustomizev1.Kustomization) {
	if p := r.health.take(client.ObjectKeyFromObject(ks)); p != nil {
		ks.Status.Inventory = p.status.inventory
	}
}

// client returns the client to apply ks with: in the cluster of
// spec.kubeConfig (else this one), as spec.serviceAccountName (else
// --default-service-account, else the reconciler itself).
func (r *Reconciler) client(ctx context.Context, ks *kustomizev1.Kustomization) (client.Client, error) {
	sa := consumer.ServiceAccount(ks.Spec.ServiceAccountName, r.DefaultServiceAccount)
	t, err := r.targets.For(ctx, r.Client, ks.Namespace, ks.Spec.KubeConfig, sa)
	if err != nil {
		return nil, err
	}
	return t.Client, nil
}

// checkAccess enforces --no-cross-namespace-refs.
func (r *Reconciler) checkAccess(ks *kustomizev1.Kustomization) error {
	if !r.NoCrossNamespaceRefs {
		return nil
	}
	return consumer.CheckNamespaces(ks.Namespace, "spec.sourceRef", ks.Spec.SourceRef.Namespace, ks.Spec.DependsOn)
}
