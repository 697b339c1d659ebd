package helm

import (
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/restmapper"
	clienttesting "k8s.io/client-go/testing"
)

func TestRediscoveringMapper_FindsKindsCreatedLaterAndRemembersMissingOnes(t *testing.T) {
	fake := &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{}}
	kinds := func(names ...string) {
		list := &metav1.APIResourceList{GroupVersion: "example.dev/v1"}
		for _, n := range names {
			list.APIResources = append(list.APIResources, metav1.APIResource{Name: n + "s", Kind: n, Namespaced: true, Verbs: []string{"get"}})
		}
		fake.Resources = []*metav1.APIResourceList{list}
	}
	kinds("Widget")
	cached := memory.NewMemCacheClient(fake)
	deferred := restmapper.NewDeferredDiscoveryRESTMapper(cached)
	m := &rediscoveringMapper{RESTMapper: deferred, deferred: deferred, missing: map[schema.GroupKind]time.Time{}}
	gk := func(kind string) schema.GroupKind { return schema.GroupKind{Group: "example.dev", Kind: kind} }

	if _, err := m.RESTMapping(gk("Widget"), "v1"); err != nil {
		t.Fatalf("Widget: %v", err)
	}
	// A CRD created after the cache was filled.
	kinds("Widget", "Gadget")
	if _, err := m.RESTMapping(gk("Gadget"), "v1"); err != nil {
		t.Fatalf("a kind created after discovery was cached is not found: %v", err)
	}

	// A kind that does not exist costs one rediscovery, then is remembered.
	calls := len(fake.Actions())
	if _, err := m.RESTMapping(gk("Gone"), "v1"); !apimeta.IsNoMatchError(err) {
		t.Fatalf("Gone: %v, want no match", err)
	}
	afterFirst := len(fake.Actions())
	if afterFirst == calls {
		t.Error("a missing kind did not trigger a rediscovery")
	}
	for range 5 {
		if _, err := m.RESTMapping(gk("Gone"), "v1"); !apimeta.IsNoMatchError(err) {
			t.Fatalf("Gone: %v, want no match", err)
		}
	}
	if n := len(fake.Actions()); n != afterFirst {
		t.Errorf("each lookup of a missing kind rediscovered (%d discovery calls, want %d)", n, afterFirst)
	}
	// Reset (after a chart's CRDs were created) forgets what was missing.
	kinds("Widget", "Gadget", "Gone")
	m.Reset()
	if _, err := m.RESTMapping(gk("Gone"), "v1"); err != nil {
		t.Errorf("after Reset: %v", err)
	}
}
