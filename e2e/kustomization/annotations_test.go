package kustomization

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

// Per-object annotations (reconcile, ssa, prune, force) and staged apply.

func TestKustomization_ReconcileDisabledOnLiveObjectLeavesItAlone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"app/cm.yaml": configMap("", "frozen", map[string]string{"level": "from-git"})})
	ks := f.kustomization(t, "app", "app", nil)
	waitApplied(t, ks, f.revision(t))

	cm := cmKey(f.ns, "frozen")
	update(t, cm, func() {
		cm.Data["level"] = "hand-edit"
		if cm.Annotations == nil {
			cm.Annotations = map[string]string{}
		}
		cm.Annotations["tether.dev/reconcile"] = "disabled"
	})
	harness.ReconcileAndWait(t, cluster, ks)
	rev := f.commit(t, map[string]string{"app/cm.yaml": configMap("", "frozen", map[string]string{"level": "changed-in-git"})}, "change frozen")
	waitApplied(t, ks, rev)
	if d := cmData(t, f.ns, "frozen"); d["level"] != "hand-edit" {
		t.Errorf("an object annotated tether.dev/reconcile: disabled was changed: level = %q", d["level"])
	}
}

func TestKustomization_SSAIfNotPresentCreatesOnceAndNeverUpdates(t *testing.T) {
	t.Parallel()
	withAnnotation := func(data string) string {
		return strings.Replace(configMap("", "once", map[string]string{"level": data}), "metadata:\n", "metadata:\n  annotations:\n    tether.dev/ssa: IfNotPresent\n", 1)
	}
	f := newFixture(t, map[string]string{"app/cm.yaml": withAnnotation("v1")})
	ks := f.kustomization(t, "app", "app", nil)
	waitApplied(t, ks, f.revision(t))
	if d := cmData(t, f.ns, "once"); d["level"] != "v1" {
		t.Fatalf("created with %v", d)
	}

	rev := f.commit(t, map[string]string{"app/cm.yaml": withAnnotation("v2")}, "v2")
	waitApplied(t, ks, rev)
	harness.ReconcileAndWait(t, cluster, ks)
	if d := cmData(t, f.ns, "once"); d["level"] != "v1" {
		t.Errorf("an IfNotPresent object was updated from Git: level = %q", d["level"])
	}

	// Deleted, it is created again, with what Git holds now.
	if err := cluster.Client.Delete(context.Background(), cmKey(f.ns, "once")); err != nil {
		t.Fatal(err)
	}
	harness.ReconcileAndWait(t, cluster, ks)
	waitCMData(t, 10*time.Second, f.ns, "once", "level", "v2")
}

func TestKustomization_PruneDisabledObjectIsKeptWhenRemovedFromGit(t *testing.T) {
	t.Parallel()
	kept := strings.Replace(configMap("", "kept", map[string]string{"k": "v"}), "metadata:\n", "metadata:\n  annotations:\n    tether.dev/prune: disabled\n", 1)
	f := newFixture(t, map[string]string{
		"app/kept.yaml":  kept,
		"app/other.yaml": configMap("", "other", map[string]string{"k": "v"}),
		"app/stays.yaml": configMap("", "stays", map[string]string{"k": "v"}),
	})
	ks := f.kustomization(t, "app", "app", nil)
	waitApplied(t, ks, f.revision(t))

	rev := f.commit(t, map[string]string{"app/kept.yaml": gitserver.Deleted, "app/other.yaml": gitserver.Deleted}, "remove kept and other")
	waitApplied(t, ks, rev)
	waitGone(t, 10*time.Second, cmKey(f.ns, "other"))
	cmData(t, f.ns, "kept")
}

func TestKustomization_ImmutableFieldChangeFailsUnlessForced(t *testing.T) {
	t.Parallel()
	immutable := func(v string) string {
		return configMap("", "frozen", map[string]string{"level": v}) + "immutable: true\n"
	}
	f := newFixture(t, map[string]string{
		"app/frozen.yaml": immutable("v1"),
		"app/other.yaml":  configMap("", "other", map[string]string{"level": "v1"}),
	})
	ks := f.kustomization(t, "app", "app", nil)
	waitApplied(t, ks, f.revision(t))
	old := cmKey(f.ns, "frozen")
	mustGet(t, old)

	rev := f.commit(t, map[string]string{
		"app/frozen.yaml": immutable("v2"),
		"app/other.yaml":  configMap("", "other", map[string]string{"level": "v2"}),
	}, "v2")
	got := waitFailed(t, ks, "ReconciliationFailed", rev)
	mustContain(t, "Ready message", readyMessage(got), "app/frozen.yaml: ConfigMap/"+f.ns+"/frozen", "data is immutable", "spec.force", "tether.dev/force: enabled")
	if d := cmData(t, f.ns, "frozen"); d["level"] != "v1" {
		t.Errorf("immutable ConfigMap changed without force: %v", d)
	}
	if d := cmData(t, f.ns, "other"); d["level"] != "v1" {
		t.Errorf("the failed apply still wrote another object of its stage: %v", d)
	}

	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.Force = true
	if err := cluster.Client.Patch(context.Background(), got, patch); err != nil {
		t.Fatal(err)
	}
	waitApplied(t, ks, rev)
	now := cmKey(f.ns, "frozen")
	mustGet(t, now)
	if now.Data["level"] != "v2" || now.UID == old.UID {
		t.Errorf("with force: data %v, uid %s (was %s); want v2 in a recreated object", now.Data, now.UID, old.UID)
	}
	if d := cmData(t, f.ns, "other"); d["level"] != "v2" {
		t.Errorf("other = %v", d)
	}
}

// A Namespace removed from git together with its objects is deleted after
// them, and not at all while it holds a prune-disabled one: deleting it
// would delete that object too.
func TestKustomization_PruneKeepsNamespaceHoldingPruneDisabledObject(t *testing.T) {
	t.Parallel()
	kept := strings.Replace(configMap(nsPlaceholder+"-holds", "kept", map[string]string{"k": "v"}), "metadata:\n", "metadata:\n  annotations:\n    tether.dev/prune: disabled\n", 1)
	nsYAML := func(name string) string { return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n" }
	f := newFixture(t, map[string]string{
		"app/holds.yaml": nsYAML(nsPlaceholder+"-holds") + "---\n" + kept + "---\n" + configMap(nsPlaceholder+"-holds", "pruned", map[string]string{"k": "v"}),
		"app/gone.yaml":  nsYAML(nsPlaceholder+"-gone") + "---\n" + configMap(nsPlaceholder+"-gone", "pruned", map[string]string{"k": "v"}),
		"app/stays.yaml": configMap(nsPlaceholder, "stays", map[string]string{"k": "v"}),
	})
	holds, gone := &corev1.Namespace{}, &corev1.Namespace{}
	holds.Name, gone.Name = f.ns+"-holds", f.ns+"-gone"
	t.Cleanup(func() {
		for _, ns := range []*corev1.Namespace{holds, gone} {
			_ = cluster.Client.Delete(context.Background(), ns)
		}
	})
	ks := f.kustomization(t, "app", "app", func(s *kustomizev1.KustomizationSpec) { s.TargetNamespace = "" })
	waitApplied(t, ks, f.revision(t))
	mustGet(t, holds)
	mustGet(t, gone)

	rev := f.commit(t, map[string]string{"app/holds.yaml": gitserver.Deleted, "app/gone.yaml": gitserver.Deleted}, "remove both namespaces")
	got := waitApplied(t, ks, rev)
	waitGone(t, 30*time.Second, cmKey(holds.Name, "pruned"))
	mustGet(t, holds)
	if !holds.DeletionTimestamp.IsZero() {
		t.Errorf("Namespace %s holding a prune-disabled object is being deleted", holds.Name)
	}
	cmData(t, holds.Name, "kept")
	switch err := get(gone); {
	case apierrors.IsNotFound(err):
	case err != nil:
		t.Fatal(err)
	case gone.DeletionTimestamp.IsZero():
		t.Errorf("Namespace %s was not pruned", gone.Name)
	}
	for _, e := range got.Status.Inventory.Entries {
		if strings.Contains(e.ID, "-holds") || strings.Contains(e.ID, "-gone") {
			t.Errorf("inventory still lists %s", e.ID)
		}
	}
}

// The object's tether.dev/force: enabled annotation recreates it when its
// immutable field changes, without spec.force.
func TestKustomization_ForceAnnotationRecreatesObjectWhoseImmutableFieldChanged(t *testing.T) {
	t.Parallel()
	immutable := func(v string) string {
		cm := configMap("", "frozen", map[string]string{"level": v}) + "immutable: true\n"
		return strings.Replace(cm, "metadata:\n", "metadata:\n  annotations:\n    tether.dev/force: enabled\n", 1)
	}
	f := newFixture(t, map[string]string{"app/frozen.yaml": immutable("v1")})
	ks := f.kustomization(t, "app", "app", nil)
	waitApplied(t, ks, f.revision(t))
	old := cmKey(f.ns, "frozen")
	mustGet(t, old)

	rev := f.commit(t, map[string]string{"app/frozen.yaml": immutable("v2")}, "v2")
	got := waitApplied(t, ks, rev)
	if got.Spec.Force {
		t.Fatal("spec.force is set: the test is of the annotation")
	}
	now := cmKey(f.ns, "frozen")
	mustGet(t, now)
	if now.Data["level"] != "v2" || now.UID == old.UID {
		t.Errorf("data %v, uid %s (was %s); want v2 in a recreated object", now.Data, now.UID, old.UID)
	}
}

// A CRD and objects of its kind in one Kustomization: the CRD is applied
// and Established first, then the objects.
func TestKustomization_AppliesCRDBeforeObjectsOfItsKind(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	group := f.ns + ".example.tether.dev"
	crd := fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.%[1]s
spec:
  group: %[1]s
  scope: Namespaced
  names:
    kind: Gadget
    plural: gadgets
    singular: gadget
    listKind: GadgetList
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`, group)
	gadget := fmt.Sprintf("apiVersion: %s/v1\nkind: Gadget\nmetadata:\n  name: g\nspec:\n  size: 3\n", group)
	rev := f.commit(t, map[string]string{"app/crd.yaml": crd, "app/gadget.yaml": gadget}, "crd and gadget")
	t.Cleanup(func() {
		c := &unstructured.Unstructured{}
		c.SetAPIVersion("apiextensions.k8s.io/v1")
		c.SetKind("CustomResourceDefinition")
		c.SetName("gadgets." + group)
		_ = cluster.Client.Delete(context.Background(), c)
	})
	ks := f.kustomization(t, "app", "app", nil)
	got := waitApplied(t, ks, rev)

	g := &unstructured.Unstructured{}
	g.SetAPIVersion(group + "/v1")
	g.SetKind("Gadget")
	g.SetNamespace(f.ns)
	g.SetName("g")
	mustGet(t, g)
	if size, _, _ := unstructured.NestedInt64(g.Object, "spec", "size"); size != 3 {
		t.Errorf("Gadget spec.size = %d, want 3", size)
	}
	var ids []string
	for _, e := range got.Status.Inventory.Entries {
		ids = append(ids, e.ID)
	}
	mustContain(t, "inventory", strings.Join(ids, " "), "_gadgets."+group+"_apiextensions.k8s.io_CustomResourceDefinition", f.ns+"_g_"+group+"_Gadget")
}
