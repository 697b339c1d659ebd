package ssa

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// TestDeleteAll_NamespacesLastAndNotWhileHoldingAKeptObject prunes two
// Namespaces and their ConfigMaps, listed Namespaces first: every ConfigMap
// must be deleted before any Namespace (whose deletion would take its
// objects with it), and the Namespace holding a prune-disabled ConfigMap
// must be kept.
func TestDeleteAll_NamespacesLastAndNotWhileHoldingAKeptObject(t *testing.T) {
	owner := map[string]string{"owner": "app"}
	meta := func(ns, name string, annotations map[string]string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: owner, Annotations: annotations}
	}
	live := []client.Object{
		&corev1.Namespace{ObjectMeta: meta("", "gone", nil)},
		&corev1.Namespace{ObjectMeta: meta("", "holds-kept", nil)},
		&corev1.ConfigMap{ObjectMeta: meta("holds-kept", "kept", map[string]string{PruneAnnotation: DisabledValue})},
		&corev1.ConfigMap{ObjectMeta: meta("holds-kept", "pruned", nil)},
	}
	objs := []*unstructured.Unstructured{
		obj("v1", "Namespace", "", "gone"),
		obj("v1", "Namespace", "", "holds-kept"),
		obj("v1", "ConfigMap", "holds-kept", "kept"),
		obj("v1", "ConfigMap", "holds-kept", "pruned"),
	}
	for i := range 12 {
		name := "cm" + string(rune('a'+i))
		live = append(live, &corev1.ConfigMap{ObjectMeta: meta("gone", name, nil)})
		objs = append(objs, obj("v1", "ConfigMap", "gone", name))
	}
	var (
		mu      sync.Mutex
		deleted []string
	)
	c := fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).WithObjects(live...).
		WithInterceptorFuncs(interceptor.Funcs{Delete: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.DeleteOption) error {
			mu.Lock()
			deleted = append(deleted, o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetName())
			mu.Unlock()
			return c.Delete(ctx, o, opts...)
		}}).Build()

	changes, err := New(c, "tether").DeleteAll(context.Background(), objs, DeleteOptions{Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	firstNS := slices.IndexFunc(deleted, func(s string) bool { return strings.HasPrefix(s, "Namespace/") })
	lastCM := -1
	for i, s := range deleted {
		if strings.HasPrefix(s, "ConfigMap/") {
			lastCM = i
		}
	}
	if firstNS < lastCM {
		t.Errorf("a Namespace was deleted before its objects: %v", deleted)
	}
	if slices.Contains(deleted, "Namespace/holds-kept") {
		t.Errorf("the Namespace holding a prune-disabled object was deleted, which deletes the object too: %v", deleted)
	}
	if !slices.Contains(deleted, "Namespace/gone") || !slices.Contains(deleted, "ConfigMap/pruned") || slices.Contains(deleted, "ConfigMap/kept") {
		t.Errorf("deleted %v", deleted)
	}
	for _, ch := range changes {
		want := Deleted
		if ch.Subject == "Namespace/holds-kept" || ch.Subject == "ConfigMap/holds-kept/kept" {
			want = Skipped
		}
		if ch.Action != want {
			t.Errorf("%s: %s, want %s", ch.Subject, ch.Action, want)
		}
	}
}
