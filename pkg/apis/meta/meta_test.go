package meta_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// fakeObject implements ObjectWithConditions and GetGeneration.
type fakeObject struct {
	generation int64
	conditions []metav1.Condition
}

func (f *fakeObject) GetConditions() []metav1.Condition  { return f.conditions }
func (f *fakeObject) SetConditions(c []metav1.Condition) { f.conditions = c }
func (f *fakeObject) GetGeneration() int64               { return f.generation }

func TestConditionHelpers(t *testing.T) {
	obj := &fakeObject{generation: 3}

	if meta.IsReady(obj) || meta.IsStalled(obj) || meta.IsReconciling(obj) {
		t.Fatal("no condition must be true on an empty object")
	}
	if s, r, m := meta.ReadyStatus(obj); s != metav1.ConditionUnknown || r != "" || m != "" {
		t.Fatalf("ReadyStatus of empty object = %q %q %q", s, r, m)
	}

	meta.MarkTrue(obj, meta.ReconcilingCondition, meta.ProgressingReason, "working on %s", "rev1")
	if !meta.IsReconciling(obj) {
		t.Fatal("Reconciling must be true")
	}
	c := meta.GetCondition(obj, meta.ReconcilingCondition)
	if c.Message != "working on rev1" || c.ObservedGeneration != 3 || c.LastTransitionTime.IsZero() {
		t.Fatalf("unexpected condition %+v", c)
	}

	meta.MarkFalse(obj, meta.ReadyCondition, meta.BuildFailedReason, "100% broken")
	if meta.IsReady(obj) || !meta.IsFalse(obj, meta.ReadyCondition) {
		t.Fatal("Ready must be false")
	}
	// A message without arguments is not a format string.
	if s, r, m := meta.ReadyStatus(obj); s != metav1.ConditionFalse || r != meta.BuildFailedReason || m != "100% broken" {
		t.Fatalf("ReadyStatus = %q %q %q", s, r, m)
	}

	// Changing the status keeps a single condition of the type.
	meta.MarkTrue(obj, meta.ReadyCondition, meta.ReconciliationSucceededReason, "ok")
	if !meta.IsReady(obj) || len(obj.conditions) != 2 {
		t.Fatalf("conditions = %+v", obj.conditions)
	}
	meta.MarkUnknown(obj, meta.ReadyCondition, meta.ProgressingReason, "")
	if meta.GetCondition(obj, meta.ReadyCondition).Status != metav1.ConditionUnknown {
		t.Fatal("Ready must be Unknown")
	}

	// Setting the same condition again reports no change.
	same := *meta.GetCondition(obj, meta.ReadyCondition)
	if meta.SetCondition(obj, same) {
		t.Fatal("SetCondition of an identical condition must report no change")
	}

	// An explicit ObservedGeneration is kept.
	meta.SetCondition(obj, metav1.Condition{Type: meta.HealthyCondition, Status: metav1.ConditionTrue, Reason: meta.SucceededReason, ObservedGeneration: 1})
	if g := meta.GetCondition(obj, meta.HealthyCondition).ObservedGeneration; g != 1 {
		t.Fatalf("ObservedGeneration = %d, want 1", g)
	}

	if !meta.DeleteCondition(obj, meta.ReconcilingCondition) || meta.DeleteCondition(obj, meta.ReconcilingCondition) {
		t.Fatal("DeleteCondition must remove the condition once")
	}
	if meta.GetCondition(obj, meta.ReconcilingCondition) != nil {
		t.Fatal("Reconciling must be gone")
	}
}

func TestConditionMessageIsTruncated(t *testing.T) {
	obj := &fakeObject{}
	long := strings.Repeat("é", meta.MaxConditionMessageLength) // 2 bytes each
	meta.MarkFalse(obj, meta.ReadyCondition, meta.FailedReason, long)
	msg := meta.GetCondition(obj, meta.ReadyCondition).Message
	if len(msg) > meta.MaxConditionMessageLength {
		t.Fatalf("message length %d exceeds %d", len(msg), meta.MaxConditionMessageLength)
	}
	if !utf8.ValidString(msg) || !strings.HasSuffix(msg, "…") {
		t.Fatal("truncated message must be valid UTF-8 and end with an ellipsis")
	}
}

func TestDurations(t *testing.T) {
	if got := meta.IntervalOrDefault(nil); got != time.Minute {
		t.Fatalf("IntervalOrDefault(nil) = %v", got)
	}
	if got := meta.IntervalOrDefault(&metav1.Duration{}); got != meta.DefaultInterval {
		t.Fatalf("IntervalOrDefault(0) = %v", got)
	}
	if got := meta.IntervalOrDefault(&metav1.Duration{Duration: 5 * time.Second}); got != 5*time.Second {
		t.Fatalf("IntervalOrDefault(5s) = %v", got)
	}
	if got := meta.DurationOr(nil, time.Hour); got != time.Hour {
		t.Fatalf("DurationOr(nil) = %v", got)
	}
	if got := meta.DurationOr(&metav1.Duration{Duration: time.Second}, time.Hour); got != time.Second {
		t.Fatalf("DurationOr(1s) = %v", got)
	}
}

func TestReconcileRequest(t *testing.T) {
	if _, ok := meta.ReconcileAnnotationValue(nil); ok {
		t.Fatal("no annotation expected")
	}
	v := meta.NewReconcileRequestValue(time.Date(2024, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600)))
	if v != "2024-01-02T02:04:05.000000006Z" {
		t.Fatalf("NewReconcileRequestValue = %q", v)
	}
	got, ok := meta.ReconcileAnnotationValue(map[string]string{"reconcile.tether.dev/requestedAt": v})
	if !ok || got != v {
		t.Fatalf("ReconcileAnnotationValue = %q, %v", got, ok)
	}
	var s meta.ReconcileRequestStatus
	s.SetLastHandledReconcileRequest(v)
	if s.GetLastHandledReconcileRequest() != v || s.LastHandledReconcileAt != v {
		t.Fatal("last handled reconcile request not recorded")
	}
}

func TestReferences(t *testing.T) {
	d := meta.DependencyReference{Name: "a"}
	if d.KindOr("HelmRelease") != "HelmRelease" || d.NamespaceOr("ns") != "ns" {
		t.Fatal("empty kind and namespace must default to the referrer's")
	}
	d = meta.DependencyReference{Kind: "Kustomization", Name: "a", Namespace: "other"}
	if d.KindOr("HelmRelease") != "Kustomization" || d.NamespaceOr("ns") != "other" {
		t.Fatal("explicit kind and namespace must be kept")
	}
	s := meta.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo"}
	if s.String() != "GitRepository/repo" || s.NamespaceOr("ns") != "ns" {
		t.Fatalf("String() = %q", s.String())
	}
	s.Namespace = "flux"
	if s.String() != "GitRepository/flux/repo" || s.NamespaceOr("ns") != "flux" {
		t.Fatalf("String() = %q", s.String())
	}
}

func TestArtifact(t *testing.T) {
	var nilArtifact *meta.Artifact
	if nilArtifact.HasRevision("") || nilArtifact.HasDigest("") {
		t.Fatal("a nil Artifact has no revision nor digest")
	}
	a := &meta.Artifact{Revision: "main@sha1:abc", Digest: "sha256:def"}
	if !a.HasRevision("main@sha1:abc") || a.HasRevision("main") || !a.HasDigest("sha256:def") {
		t.Fatal("HasRevision/HasDigest mismatch")
	}
	for rev, want := range map[string]string{
		"main@sha1:abc":   "sha1:abc",
		"sha256:def":      "sha256:def",
		"1.2.3":           "",
		"v1@sha256:a@b:c": "b:c",
	} {
		if got := meta.RevisionDigest(rev); got != want {
			t.Errorf("RevisionDigest(%q) = %q, want %q", rev, got, want)
		}
	}
}

func TestArtifactDeepCopy(t *testing.T) {
	size := int64(3)
	a := &meta.Artifact{Size: &size, Metadata: map[string]string{"k": "v"}}
	b := a.DeepCopy()
	*b.Size = 4
	b.Metadata["k"] = "w"
	if *a.Size != 3 || a.Metadata["k"] != "v" {
		t.Fatal("DeepCopy must not share pointers or maps")
	}
}
