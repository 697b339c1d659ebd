package helmrelease

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
)

func TestChartChangedPredicate(t *testing.T) {
	chart := func(status metav1.ConditionStatus, reason, msg string, a *meta.Artifact) *sourcev1.HelmChart {
		hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Generation: 1}}
		hc.Status.ObservedGeneration = 1
		hc.Status.Artifact = a
		meta.SetCondition(hc, metav1.Condition{Type: meta.ReadyCondition, Status: status, Reason: reason, Message: msg})
		return hc
	}
	a1 := &meta.Artifact{Revision: "1.0.0", Digest: "sha256:1"}
	for _, tt := range []struct {
		name     string
		old, new *sourcev1.HelmChart
		want     bool
	}{
		{"first artifact", chart("False", "Failed", "x", nil), chart("True", "Succeeded", "pulled", a1), true},
		{"unchanged", chart("True", "Succeeded", "pulled", a1), chart("True", "Succeeded", "pulled", a1), false},
		{"fails for a new reason", chart("False", "Failed", "chart not found", nil), chart("False", "Failed", "no version satisfies", nil), true},
		{"a Ready chart's new message", chart("True", "Succeeded", "pulled", a1), chart("True", "Succeeded", "stored", a1), false},
	} {
		if got := (chartChangedPredicate{}).Update(event.UpdateEvent{ObjectOld: tt.old, ObjectNew: tt.new}); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
