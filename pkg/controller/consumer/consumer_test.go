package consumer

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
)

func TestCheckNamespaces_RefusesOtherNamespacesOnly(t *testing.T) {
	deps := []meta.DependencyReference{{Name: "a"}, {Name: "b", Namespace: "apps"}}
	if err := CheckNamespaces("apps", "spec.sourceRef", "", deps); err != nil {
		t.Errorf("same namespace refused: %v", err)
	}
	if err := CheckNamespaces("apps", "spec.sourceRef", "flux", nil); err == nil || !strings.Contains(err.Error(), `spec.sourceRef names namespace "flux"`) {
		t.Errorf("another namespace's source: %v", err)
	}
	if err := CheckNamespaces("apps", "spec.sourceRef", "apps", []meta.DependencyReference{{Name: "c", Namespace: "infra"}}); err == nil || !strings.Contains(err.Error(), "spec.dependsOn c") {
		t.Errorf("another namespace's dependency: %v", err)
	}
}

func TestServiceAccount_SpecThenDefault(t *testing.T) {
	if got := ServiceAccount("deployer", "tenant"); got != "deployer" {
		t.Errorf("spec's account lost to the default: %q", got)
	}
	if got := ServiceAccount("", "tenant"); got != "tenant" {
		t.Errorf("default not used: %q", got)
	}
	if got := ServiceAccount("", ""); got != "" {
		t.Errorf("no account: %q", got)
	}
}

func ks(ready metav1.ConditionStatus, generation int64, applied string) *kustomizev1.Kustomization {
	k := &kustomizev1.Kustomization{}
	k.Generation, k.Status.ObservedGeneration, k.Status.LastAppliedRevision = generation, generation, applied
	k.Status.Conditions = []metav1.Condition{{Type: meta.ReadyCondition, Status: ready}}
	return k
}

func TestReadyChangedPredicate_PassesWhenDependentsMayProceed(t *testing.T) {
	p := ReadyChangedPredicate{}
	for _, tc := range []struct {
		name     string
		old, new *kustomizev1.Kustomization
		want     bool
	}{
		{"became ready", ks("False", 1, "a"), ks("True", 1, "a"), true},
		{"new revision applied", ks("True", 1, "a"), ks("True", 1, "b"), true},
		{"new generation ready", ks("True", 1, "a"), ks("True", 2, "a"), true},
		{"nothing new", ks("True", 1, "a"), ks("True", 1, "a"), false},
		{"became not ready", ks("True", 1, "a"), ks("False", 1, "a"), false},
	} {
		if got := p.Update(event.UpdateEvent{ObjectOld: tc.old, ObjectNew: tc.new}); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestApplied_StartsOverWithANewEpoch(t *testing.T) {
	var a Applied
	key := types.NamespacedName{Namespace: "apps", Name: "web"}
	d1 := a.Of(key, "1")
	if a.Of(key, "1") != d1 {
		t.Error("the same epoch gave another memory")
	}
	if a.Of(key, "2") == d1 {
		t.Error("a new epoch kept the old memory")
	}
	d2 := a.Of(key, "2")
	a.Forget(key)
	if a.Of(key, "2") == d2 {
		t.Error("Forget kept the memory")
	}
}
