package kinds

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
)

func TestAll_EveryKindIsComplete(t *testing.T) {
	names := map[string]bool{}
	for _, k := range All {
		if k.New == nil || k.NewList == nil || k.Revision == nil || k.Origin == nil {
			t.Errorf("%s: adapter incomplete", k.Kind)
		}
		if got := k.Object().GetObjectKind().GroupVersionKind(); got != k.GVK || k.GVK.Kind != k.Kind {
			t.Errorf("%s: GVK %v", k.Kind, got)
		}
		for _, n := range append([]string{k.Name}, k.Aliases...) {
			if names[n] && !k.Source {
				t.Errorf("noun %q used twice", n)
			}
			names[n] = true
		}
	}
	if len(Sources()) != 5 {
		t.Errorf("%d sources", len(Sources()))
	}
}

func ready(status metav1.ConditionStatus) []metav1.Condition {
	return []metav1.Condition{{Type: meta.ReadyCondition, Status: status, Reason: "R", Message: "m"}}
}

func TestHandled(t *testing.T) {
	const req = "2025-06-01T12:00:00Z"
	tests := []struct {
		name        string
		handled     string
		gen, obsGen int64
		ready       []metav1.Condition
		wantHandled bool
	}{
		{"not yet", "older", 1, 1, ready(metav1.ConditionTrue), false},
		{"ready at generation", req, 2, 2, ready(metav1.ConditionTrue), true},
		{"ready for an older generation", req, 3, 2, ready(metav1.ConditionTrue), false},
		{"health check in progress", req, 2, 2, ready(metav1.ConditionUnknown), false},
		{"failed without observing the generation", req, 3, 2, ready(metav1.ConditionFalse), true},
		{"no condition", req, 1, 1, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Generation: tt.gen}}
			o.Status.ObservedGeneration = tt.obsGen
			o.Status.LastHandledReconcileAt = tt.handled
			o.Status.Conditions = tt.ready
			if got := Handled(o, req); got != tt.wantHandled {
				t.Errorf("Handled = %v", got)
			}
		})
	}
}

func TestOutcome(t *testing.T) {
	git := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app"}}
	git.Status.Conditions = ready(metav1.ConditionTrue)
	git.Status.Artifact = &meta.Artifact{Revision: "main@sha1:abc"}
	if line, err := Outcome(GitRepository, git); err != nil || line != "fetched revision main@sha1:abc" {
		t.Errorf("source: %q %v", line, err)
	}
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "apps"}}
	ks.Status.Conditions = ready(metav1.ConditionTrue)
	ks.Status.LastAppliedRevision = "main@sha1:abc"
	if line, err := Outcome(Kustomization, ks); err != nil || line != "applied revision main@sha1:abc" {
		t.Errorf("kustomization: %q %v", line, err)
	}
	ks.Status.Conditions = []metav1.Condition{{Type: meta.ReadyCondition, Status: metav1.ConditionFalse, Reason: "BuildFailed", Message: "kustomize build failed"}}
	if _, err := Outcome(Kustomization, ks); err == nil || err.Error() != "Kustomization ns/apps is not ready: BuildFailed: kustomize build failed" {
		t.Errorf("failure: %v", err)
	}
}

func TestRevisionAndUpstream(t *testing.T) {
	hr := &helmv1.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "podinfo"}}
	hr.Status.LastAttemptedRevision = "6.7.2"
	if got := HelmRelease.Revision(hr); got != "6.7.2" {
		t.Errorf("without history: %q", got)
	}
	hr.Status.History = helmv1.Snapshots{{ChartVersion: "6.7.1"}}
	if got := HelmRelease.Revision(hr); got != "6.7.1" {
		t.Errorf("with history: %q", got)
	}

	hr.Spec.Chart = &helmv1.HelmChartTemplate{Spec: helmv1.HelmChartTemplateSpec{SourceRef: meta.CrossNamespaceSourceReference{Kind: "HelmRepository", Name: "charts", Namespace: "infra"}}}
	if up, ok := HelmRelease.UpstreamOf(hr); !ok || up.String() != "HelmChart infra/apps-podinfo" {
		t.Errorf("chart template upstream = %v %v", up, ok)
	}
	hr.Spec.Chart, hr.Spec.ChartRef = nil, &meta.CrossNamespaceSourceReference{Kind: "OCIRepository", Name: "podinfo"}
	if up, ok := HelmRelease.UpstreamOf(hr); !ok || up.String() != "OCIRepository apps/podinfo" {
		t.Errorf("chartRef upstream = %v %v", up, ok)
	}
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "apps"},
		Spec: kustomizev1.KustomizationSpec{SourceRef: meta.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo", Namespace: "flux"}}}
	if up, ok := Kustomization.UpstreamOf(ks); !ok || up.Kind != GitRepository || up.Namespace != "flux" {
		t.Errorf("kustomization upstream = %v %v", up, ok)
	}
	if _, ok := GitRepository.UpstreamOf(&sourcev1.GitRepository{}); ok {
		t.Error("a GitRepository has an upstream")
	}
}

func TestRequestAnnotations_ShareOneValue(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 5, time.FixedZone("x", 3600))
	v, ann := RequestAnnotations(now, ForceRequestAnnotation, ResetRequestAnnotation)
	if v != "2025-06-01T11:00:00.000000005Z" || len(ann) != 3 {
		t.Fatalf("value %q, annotations %v", v, ann)
	}
	for k, got := range ann {
		if got != v || !strings.HasPrefix(k, "reconcile.tether.dev/") {
			t.Errorf("%s=%s", k, got)
		}
	}
}
