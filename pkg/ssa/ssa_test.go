package ssa

import (
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func obj(apiVersion, kind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

func TestObjectID_RoundTrips(t *testing.T) {
	for _, u := range []*unstructured.Unstructured{
		obj("apps/v1", "Deployment", "apps", "podinfo"),
		obj("v1", "Namespace", "", "apps"),
		obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", "a.b-c"),
	} {
		id := ObjectID(u)
		back, err := ObjectFromID(id, u.GroupVersionKind().Version)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if back.GroupVersionKind() != u.GroupVersionKind() || back.GetName() != u.GetName() || back.GetNamespace() != u.GetNamespace() {
			t.Errorf("%s came back as %v %s/%s", id, back.GroupVersionKind(), back.GetNamespace(), back.GetName())
		}
	}
	if got := ObjectID(obj("apps/v1", "Deployment", "apps", "podinfo")); got != "apps_podinfo_apps_Deployment" {
		t.Errorf("ObjectID = %q, want Flux's format", got)
	}
	for _, bad := range []string{"", "a_b_c", "ns__g_Kind", "ns_name_g_", "a_b_c_d_e"} {
		if _, err := ObjectFromID(bad, "v1"); err == nil {
			t.Errorf("ObjectFromID(%q) accepted an invalid entry", bad)
		}
	}
}

func TestSameState_IgnoresBookkeepingOnly(t *testing.T) {
	live := obj("v1", "ConfigMap", "a", "cm")
	live.SetResourceVersion("10")
	live.SetGeneration(1)
	live.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "tether"}})
	_ = unstructured.SetNestedField(live.Object, "1", "data", "k")

	dry := live.DeepCopy()
	dry.SetResourceVersion("11")
	dry.SetGeneration(2)
	dry.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "tether"}, {Manager: "kubectl"}})
	desired := obj("v1", "ConfigMap", "a", "cm")
	if !sameState(desired, live, dry) {
		t.Error("objects differing only in resourceVersion, generation and managedFields are not the same")
	}
	// A controller updated the status between the GET and the dry-run.
	_ = unstructured.SetNestedField(dry.Object, int64(3), "status", "replicas")
	if !sameState(desired, live, dry) {
		t.Error("a status written by a controller counted as a change the apply makes")
	}
	withStatus := desired.DeepCopy()
	_ = unstructured.SetNestedField(withStatus.Object, int64(1), "status", "replicas")
	if sameState(withStatus, live, dry) {
		t.Error("a changed status went unnoticed although the desired object sets one")
	}
	_ = unstructured.SetNestedField(dry.Object, "2", "data", "k")
	if sameState(desired, live, dry) {
		t.Error("a changed data value went unnoticed")
	}
}

func TestImmutableField_RecognisesTheAPIServersRefusal(t *testing.T) {
	immutable := apierrors.NewInvalid(schema.GroupKind{Kind: "ConfigMap"}, "cm", field.ErrorList{
		field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"),
	})
	selector := apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "d", field.ErrorList{
		field.Invalid(field.NewPath("spec", "selector"), "x", "field is immutable"),
	})
	other := apierrors.NewInvalid(schema.GroupKind{Kind: "ConfigMap"}, "cm", field.ErrorList{
		field.Required(field.NewPath("metadata", "name"), "name is required"),
	})
	for _, tc := range []struct {
		err   error
		field string
		ok    bool
	}{
		{fmt.Errorf("wrapped: %w", immutable), "data", true},
		{selector, "spec.selector", true},
		{other, "", false},
		{errors.New("field is immutable"), "", false},
		{apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "cm", errors.New("no")), "", false},
	} {
		f, ok := immutableField(tc.err)
		if ok != tc.ok || f != tc.field {
			t.Errorf("immutableField(%v) = %q, %v; want %q, %v", tc.err, f, ok, tc.field, tc.ok)
		}
	}
}

func TestChangeSet_Summary(t *testing.T) {
	cs := ChangeSet{{"a", Created}, {"b", Unchanged}, {"c", Unchanged}, {"d", Configured}, {"e", Skipped}}
	if got := cs.Summary(); got != "1 created, 1 configured, 2 unchanged, 1 skipped" {
		t.Errorf("Summary = %q", got)
	}
	if got := len(cs.Changed()); got != 2 {
		t.Errorf("Changed has %d entries, want 2", got)
	}
	if got := (ChangeSet{}).Summary(); got != "nothing to do" {
		t.Errorf("empty Summary = %q", got)
	}
}

func TestOwned_RequiresEveryOwnerLabel(t *testing.T) {
	u := obj("v1", "ConfigMap", "a", "cm")
	u.SetLabels(map[string]string{"owner/name": "app", "owner/namespace": "flux"})
	if !owned(u, map[string]string{"owner/name": "app", "owner/namespace": "flux"}) {
		t.Error("object with both labels is not owned")
	}
	if owned(u, map[string]string{"owner/name": "app", "owner/namespace": "other"}) {
		t.Error("object labelled for another owner counts as owned")
	}
	if !owned(u, nil) {
		t.Error("no owner labels required must mean any object")
	}
}

func TestContains_LiveHoldsEveryDesiredField(t *testing.T) {
	want := map[string]any{"spec": map[string]any{"replicas": int64(2), "template": map[string]any{
		"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "a:1"}}}}}}
	live := map[string]any{"status": map[string]any{"x": "y"}, "spec": map[string]any{"replicas": int64(2), "paused": false, "template": map[string]any{
		"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "a:1", "imagePullPolicy": "IfNotPresent"}}}}}}
	if !contains(live, want) {
		t.Error("live with extra defaulted fields does not contain the desired state")
	}
	for name, mutate := range map[string]func(m map[string]any){
		"changed value": func(m map[string]any) { m["spec"].(map[string]any)["replicas"] = int64(3) },
		"removed field": func(m map[string]any) { delete(m["spec"].(map[string]any), "replicas") },
		"extra list item": func(m map[string]any) {
			c := m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
			c["containers"] = append(c["containers"].([]any), map[string]any{"name": "sidecar"})
		},
	} {
		l := runtimeDeepCopy(live)
		mutate(l)
		if contains(l, want) {
			t.Errorf("%s: still reported as containing the desired state", name)
		}
	}
}

func runtimeDeepCopy(m map[string]any) map[string]any {
	return (&unstructured.Unstructured{Object: m}).DeepCopy().Object
}

func TestDigests_MatchOnlyTheRecordedState(t *testing.T) {
	d := NewDigests()
	a := obj("v1", "ConfigMap", "ns", "a")
	_ = unstructured.SetNestedField(a.Object, "1", "data", "k")
	if d.matches("ConfigMap/ns/a", digest(a)) {
		t.Error("matches before anything was recorded")
	}
	d.record("ConfigMap/ns/a", digest(a))
	if !d.matches("ConfigMap/ns/a", digest(a.DeepCopy())) {
		t.Error("the same desired state does not match")
	}
	_ = unstructured.SetNestedField(a.Object, "2", "data", "k")
	if d.matches("ConfigMap/ns/a", digest(a)) {
		t.Error("a changed desired state matches")
	}
	var none *Digests
	if none.matches("x", digest(a)) {
		t.Error("a nil memory matches")
	}
}
