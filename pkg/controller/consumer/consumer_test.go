package consumer

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/tether-gitops/tether/pkg/apis"
	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
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

// After a commit to the source, a dependency Ready at the revision before
// must hold its dependents back until it has applied the new one.
func TestCheckDependencies_KustomizationMustHaveAppliedItsSourcesRevision(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := apis.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	src := &sourcev1.GitRepository{}
	src.Namespace, src.Name = "infra", "repo"
	src.Status.Artifact = &meta.Artifact{Revision: "main@sha1:b"}
	dep := ks("True", 1, "main@sha1:a")
	dep.Namespace, dep.Name = "apps", "infra"
	dep.Status.LastAttemptedRevision = "main@sha1:a"
	dep.Spec.SourceRef = meta.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "repo", Namespace: "infra"}
	hr := &helmv1.HelmRelease{}
	hr.Namespace, hr.Name, hr.Generation = "apps", "db", 1
	hr.Status.ObservedGeneration = 1
	hr.Status.Conditions = []metav1.Condition{{Type: meta.ReadyCondition, Status: metav1.ConditionTrue}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(src, dep, hr).WithStatusSubresource(src, dep, hr).Build()
	ctx := context.Background()
	deps := []meta.DependencyReference{{Name: "infra"}, {Kind: helmv1.HelmReleaseKind, Name: "db"}}

	err := CheckDependencies(ctx, c, kustomizev1.KustomizationKind, "apps", deps)
	if err == nil || !strings.Contains(err.Error(), "Kustomization apps/infra is not ready") || !strings.Contains(err.Error(), "main@sha1:b") {
		t.Errorf("dependency behind its source: %v", err)
	}

	dep.Status.LastAppliedRevision, dep.Status.LastAttemptedRevision = "main@sha1:b", "main@sha1:b"
	if err := c.Status().Update(ctx, dep); err != nil {
		t.Fatal(err)
	}
	if err := CheckDependencies(ctx, c, kustomizev1.KustomizationKind, "apps", deps); err != nil {
		t.Errorf("dependency at its source's revision, HelmRelease Ready: %v", err)
	}

	if err := c.Delete(ctx, src); err != nil {
		t.Fatal(err)
	}
	if err := CheckDependencies(ctx, c, kustomizev1.KustomizationKind, "apps", deps); err == nil || !strings.Contains(err.Error(), "GitRepository infra/repo is not found") {
		t.Errorf("dependency without its source: %v", err)
	}
}
