package kustomization

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/tether-gitops/tether/pkg/apis"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
)

// youngCheck sets up what a reconcile leaves while the health check of
// revision B is young: the status still holds the inventory before (keep),
// the check holds the new one (keep and added), whose apply created added.
func youngCheck(t *testing.T, r *Reconciler, ks *kustomizev1.Kustomization) {
	t.Helper()
	keep := u("v1", "ConfigMap", ks.Namespace, "keep")
	added := u("v1", "ConfigMap", ks.Namespace, "added")
	ks.Status.Inventory = inventoryOf([]*unstructured.Unstructured{keep})
	ks.Status.LastAttemptedRevision = "main@sha1:a"
	p := &pendingHealth{key: pendingKey(ks, "main@sha1:b"), objs: []*unstructured.Unstructured{added},
		started: time.Now(), deadline: time.Now().Add(time.Hour),
		status: stashedStatus{inventory: inventoryOf([]*unstructured.Unstructured{keep, added}), attempted: "main@sha1:b"}}
	r.health.track(client.ObjectKeyFromObject(ks), p, p.report)
}

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apis.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return scheme
}

func inventoryIDs(inv *kustomizev1.ResourceInventory) string {
	objs, _ := inventoryObjects(inv)
	return ids(objs)
}

// A new revision arrives while the check of the one before is young: the
// objects that revision's apply created must stay in the inventory, or a
// later prune would never delete them.
func TestReconcile_SupersededHealthCheckKeepsItsApplysInventory(t *testing.T) {
	scheme := testScheme(t)
	src := &sourcev1.GitRepository{}
	src.Namespace, src.Name = "apps", "repo"
	// An artifact without a digest fails the build, which is all this
	// test needs of it: the status is then written with the inventory.
	src.Status.Artifact = &meta.Artifact{Path: "x.tar.gz", Revision: "main@sha1:c"}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(src).WithStatusSubresource(src).Build()
	r := &Reconciler{Client: c, Recorder: events.NewFakeRecorder(100), health: newHealthTracker(nil),
		workspace: newWorkspace(nil, t.TempDir())}
	ks := &kustomizev1.Kustomization{}
	ks.Namespace, ks.Name, ks.Generation = "apps", "web", 1
	ks.Spec.SourceRef = meta.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "repo"}
	ks.Spec.Prune = true
	youngCheck(t, r, ks)

	_ = r.reconcile(context.Background(), ks)
	if c := meta.GetCondition(ks, meta.ReadyCondition); c == nil || c.Reason != meta.BuildFailedReason {
		t.Fatalf("Ready = %+v, want the build of revision c to fail", c)
	}
	if got, want := inventoryIDs(ks.Status.Inventory), "apps_added__ConfigMap apps_keep__ConfigMap"; got != want {
		t.Errorf("inventory after the superseding reconcile = %s, want %s (what revision b applied)", got, want)
	}
	if n := len(r.health.pending); n != 0 {
		t.Errorf("%d checks still tracked, want the superseded one gone", n)
	}
}

// Deleting the Kustomization while its check is young: the finalizer must
// see what the check's apply created.
func TestFinalize_SeesTheInventoryOfAYoungHealthCheck(t *testing.T) {
	r := &Reconciler{health: newHealthTracker(nil)}
	ks := &kustomizev1.Kustomization{}
	ks.Namespace, ks.Name, ks.Generation = "apps", "web", 1
	ks.Spec.Suspend = true // the finalizer then deletes nothing, needing no cluster
	youngCheck(t, r, ks)
	if err := r.finalize(context.Background(), ks); err != nil {
		t.Fatal(err)
	}
	if got, want := inventoryIDs(ks.Status.Inventory), "apps_added__ConfigMap apps_keep__ConfigMap"; got != want {
		t.Errorf("inventory at deletion = %s, want %s", got, want)
	}
	if n := len(r.health.pending); n != 0 {
		t.Errorf("%d checks still tracked after the deletion", n)
	}
}

// A Kustomization gone without its finalizer (removed by hand, or deleted
// while suspended) leaves no check behind in the tracker.
func TestReconcile_GoneKustomizationLeavesNoHealthCheck(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(testScheme(t)).Build()
	r := &Reconciler{Client: c, health: newHealthTracker(nil)}
	ks := &kustomizev1.Kustomization{}
	ks.Namespace, ks.Name, ks.Generation = "apps", "web", 1
	youngCheck(t, r, ks)
	if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(ks)}); err != nil {
		t.Fatal(err)
	}
	if n := len(r.health.pending); n != 0 {
		t.Errorf("%d checks still tracked for a Kustomization that is gone", n)
	}
}
