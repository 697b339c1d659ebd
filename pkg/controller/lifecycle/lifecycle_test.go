package lifecycle

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
)

func TestJitter_StaysWithinTenPercentAbove(t *testing.T) {
	d := time.Minute
	spread := map[time.Duration]bool{}
	for range 200 {
		j := Jitter(d)
		if j < d || j > d+d/10 {
			t.Fatalf("Jitter(%s) = %s, want within [%s, %s]", d, j, d, d+d/10)
		}
		spread[j] = true
	}
	if len(spread) < 10 {
		t.Errorf("200 jitters gave only %d distinct values", len(spread))
	}
	if Jitter(0) != 0 {
		t.Error("Jitter(0) != 0")
	}
}

func repo(annotation string, artifact *meta.Artifact) *sourcev1.GitRepository {
	r := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: "r"}}
	if annotation != "" {
		r.Annotations = map[string]string{meta.ReconcileRequestAnnotation: annotation}
	}
	r.Status.Artifact = artifact
	return r
}

func TestReconcileRequestedPredicate(t *testing.T) {
	p := ReconcileRequestedPredicate{}
	for _, tt := range []struct {
		old, new string
		want     bool
	}{{"", "a", true}, {"a", "b", true}, {"a", "a", false}, {"a", "", false}, {"", "", false}} {
		if got := p.Update(event.UpdateEvent{ObjectOld: repo(tt.old, nil), ObjectNew: repo(tt.new, nil)}); got != tt.want {
			t.Errorf("%q -> %q: %v, want %v", tt.old, tt.new, got, tt.want)
		}
	}
}

func TestArtifactChangedPredicate(t *testing.T) {
	p := ArtifactChangedPredicate{}
	a1 := &meta.Artifact{Revision: "main@sha1:1", Digest: "sha256:1"}
	a2 := &meta.Artifact{Revision: "main@sha1:2", Digest: "sha256:2"}
	for _, tt := range []struct {
		name     string
		old, new *meta.Artifact
		want     bool
	}{
		{"first artifact", nil, a1, true},
		{"new revision", a1, a2, true},
		{"same artifact", a1, a1.DeepCopy(), false},
		{"artifact gone", a1, nil, false},
	} {
		if got := p.Update(event.UpdateEvent{ObjectOld: repo("", tt.old), ObjectNew: repo("", tt.new)}); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFailedAndSucceeded(t *testing.T) {
	r := repo("", nil)
	r.Generation = 3
	Failed(r, false, "FetchFailed", "boom %d", 1)
	if !meta.IsReconciling(r) || meta.IsStalled(r) || meta.IsReady(r) || r.Status.ObservedGeneration == 3 {
		t.Errorf("retryable failure: %+v", r.Status)
	}
	Failed(r, true, "InvalidURL", "bad")
	if meta.IsReconciling(r) || !meta.IsStalled(r) || r.Status.ObservedGeneration != 3 {
		t.Errorf("stalled failure: %+v", r.Status)
	}
	Succeeded(r, meta.SucceededReason, "ok")
	if !meta.IsReady(r) || meta.IsStalled(r) || meta.IsReconciling(r) {
		t.Errorf("success: %+v", r.Status)
	}
}
