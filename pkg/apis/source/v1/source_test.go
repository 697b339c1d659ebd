package v1

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// Every kind of the group is a meta.Source and its list a
// meta.ReconcilableList.
var (
	_ meta.Source = &GitRepository{}
	_ meta.Source = &HelmRepository{}
	_ meta.Source = &HelmChart{}
	_ meta.Source = &Bucket{}
	_ meta.Source = &OCIRepository{}

	_ meta.ReconcilableList = &GitRepositoryList{}
	_ meta.ReconcilableList = &HelmRepositoryList{}
	_ meta.ReconcilableList = &HelmChartList{}
	_ meta.ReconcilableList = &BucketList{}
	_ meta.ReconcilableList = &OCIRepositoryList{}
)

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

func allSources() map[string]func(interval, timeout *metav1.Duration) meta.Source {
	return map[string]func(interval, timeout *metav1.Duration) meta.Source{
		GitRepositoryKind: func(i, t *metav1.Duration) meta.Source {
			return &GitRepository{Spec: GitRepositorySpec{Interval: i, Timeout: t}}
		},
		HelmRepositoryKind: func(i, t *metav1.Duration) meta.Source {
			return &HelmRepository{Spec: HelmRepositorySpec{Interval: i, Timeout: t}}
		},
		HelmChartKind: func(i, t *metav1.Duration) meta.Source {
			return &HelmChart{Spec: HelmChartSpec{Interval: i, Timeout: t}}
		},
		BucketKind: func(i, t *metav1.Duration) meta.Source {
			return &Bucket{Spec: BucketSpec{Interval: i, Timeout: t}}
		},
		OCIRepositoryKind: func(i, t *metav1.Duration) meta.Source {
			return &OCIRepository{Spec: OCIRepositorySpec{Interval: i, Timeout: t}}
		},
	}
}

func TestIntervalAndTimeoutDefaults(t *testing.T) {
	for kind, newSource := range allSources() {
		t.Run(kind, func(t *testing.T) {
			s := newSource(nil, nil)
			if s.GetInterval() != time.Minute || s.GetTimeout() != time.Minute || s.GetRequeueAfter() != time.Minute {
				t.Fatalf("defaults: interval %v timeout %v requeue %v", s.GetInterval(), s.GetTimeout(), s.GetRequeueAfter())
			}
			s = newSource(dur(10*time.Minute), nil)
			if s.GetInterval() != 10*time.Minute || s.GetTimeout() != 10*time.Minute {
				t.Fatalf("timeout must default to the interval: %v %v", s.GetInterval(), s.GetTimeout())
			}
			s = newSource(dur(10*time.Minute), dur(30*time.Second))
			if s.GetTimeout() != 30*time.Second || s.GetRequeueAfter() != 10*time.Minute {
				t.Fatalf("explicit timeout: %v %v", s.GetTimeout(), s.GetRequeueAfter())
			}
		})
	}
}

func TestCommonAccessors(t *testing.T) {
	for kind, newSource := range allSources() {
		t.Run(kind, func(t *testing.T) {
			s := newSource(nil, nil)
			if s.IsSuspended() {
				t.Fatal("new source must not be suspended")
			}
			s.SetSuspended(true)
			if !s.IsSuspended() {
				t.Fatal("SetSuspended(true) not applied")
			}
			s.SetLastHandledReconcileRequest("now")
			if s.GetLastHandledReconcileRequest() != "now" {
				t.Fatal("SetLastHandledReconcileRequest not applied")
			}
			s.SetObservedGeneration(7)
			if s.GetObservedGeneration() != 7 {
				t.Fatal("SetObservedGeneration not applied")
			}
			if s.GetArtifact() != nil {
				t.Fatal("new source must have no Artifact")
			}
			s.SetGeneration(7)
			meta.MarkTrue(s, meta.ReadyCondition, meta.SucceededReason, "stored")
			if !meta.IsReady(s) || !meta.IsReadyAndCurrent(s) {
				t.Fatal("Ready condition not stored through SetConditions")
			}
			s.SetGeneration(8)
			if meta.IsReadyAndCurrent(s) {
				t.Fatal("Ready of an older generation must not be current")
			}
		})
	}
}

func TestGetArtifact(t *testing.T) {
	a := &meta.Artifact{Revision: "r"}
	for _, s := range []meta.Source{
		&GitRepository{Status: GitRepositoryStatus{Artifact: a}},
		&HelmRepository{Status: HelmRepositoryStatus{Artifact: a}},
		&HelmChart{Status: HelmChartStatus{Artifact: a}},
		&Bucket{Status: BucketStatus{Artifact: a}},
		&OCIRepository{Status: OCIRepositoryStatus{Artifact: a}},
	} {
		if s.GetArtifact() != a {
			t.Fatalf("%T: GetArtifact did not return status.artifact", s)
		}
	}
}

func TestListGetItems(t *testing.T) {
	l := &GitRepositoryList{Items: []GitRepository{{}, {}}}
	l.Items[1].Name = "b"
	items := l.GetItems()
	if len(items) != 2 || items[1].GetName() != "b" {
		t.Fatalf("GetItems = %v", items)
	}
	items[0].SetSuspended(true)
	if !l.Items[0].Spec.Suspend {
		t.Fatal("GetItems must return pointers into the list")
	}
}

func TestGitRepositoryHelpers(t *testing.T) {
	g := &GitRepository{}
	if ref := g.GetReference(); ref.Branch != "master" {
		t.Fatalf("default reference = %+v", ref)
	}
	g.Spec.Reference = &GitRepositoryRef{Tag: "v1"}
	if ref := g.GetReference(); ref.Tag != "v1" || ref.Branch != "" {
		t.Fatalf("reference = %+v", ref)
	}

	inc := GitRepositoryInclude{GitRepositoryRef: meta.LocalObjectReference{Name: "lib"}, FromPath: "src"}
	if inc.GetToPath() != "lib" || inc.GetFromPath() != "src" {
		t.Fatal("include paths")
	}
	inc.ToPath = "vendor/lib"
	if inc.GetToPath() != "vendor/lib" {
		t.Fatal("explicit toPath")
	}

	for mode, want := range map[GitVerificationMode][2]bool{
		"":                {true, false},
		"head":            {true, false},
		ModeGitHEAD:       {true, false},
		ModeGitTag:        {false, true},
		ModeGitTagAndHEAD: {true, true},
	} {
		v := &GitRepositoryVerification{Mode: mode}
		if v.VerifyHEAD() != want[0] || v.VerifyTag() != want[1] {
			t.Errorf("mode %q: VerifyHEAD %v VerifyTag %v", mode, v.VerifyHEAD(), v.VerifyTag())
		}
	}
}

func TestOtherSourceHelpers(t *testing.T) {
	o := &OCIRepository{}
	if o.GetLayerOperation() != OCILayerExtract || o.GetLayerMediaType() != "" {
		t.Fatal("OCI layer defaults")
	}
	o.Spec.LayerSelector = &OCILayerSelector{MediaType: "application/x-tar", Operation: OCILayerCopy}
	if o.GetLayerOperation() != OCILayerCopy || o.GetLayerMediaType() != "application/x-tar" {
		t.Fatal("OCI layer selector")
	}

	c := &HelmChart{}
	if c.GetReconcileStrategy() != ReconcileStrategyChartVersion || c.GetVersion() != "*" {
		t.Fatal("HelmChart defaults")
	}
	c.Spec = HelmChartSpec{ReconcileStrategy: ReconcileStrategyRevision, Version: "1.x", ValuesFiles: []string{"a.yaml"}}
	if c.GetReconcileStrategy() != ReconcileStrategyRevision || c.GetVersion() != "1.x" || len(c.GetValuesFiles()) != 1 {
		t.Fatal("HelmChart explicit values")
	}

	b := &Bucket{}
	if b.GetProvider() != GenericProvider {
		t.Fatal("Bucket default provider")
	}
	b.Spec.Provider = AmazonProvider
	if b.GetProvider() != AmazonProvider {
		t.Fatal("Bucket provider")
	}

	r := &HelmRepository{}
	if r.IsOCI() {
		t.Fatal("HelmRepository default type is not oci")
	}
	r.Spec.Type = HelmRepositoryTypeOCI
	if !r.IsOCI() {
		t.Fatal("HelmRepository of type oci")
	}
}

func TestDeepCopyIsDeep(t *testing.T) {
	ignore := "*.md"
	g := &GitRepository{
		Spec:   GitRepositorySpec{Ignore: &ignore, Include: []GitRepositoryInclude{{ToPath: "a"}}},
		Status: GitRepositoryStatus{IncludedArtifacts: []*meta.Artifact{{Revision: "r"}}},
	}
	c := g.DeepCopy()
	*c.Spec.Ignore = "changed"
	c.Spec.Include[0].ToPath = "b"
	c.Status.IncludedArtifacts[0].Revision = "s"
	if *g.Spec.Ignore != "*.md" || g.Spec.Include[0].ToPath != "a" || g.Status.IncludedArtifacts[0].Revision != "r" {
		t.Fatal("DeepCopy shares memory with the original")
	}
}

func TestNewKustomizationSource(t *testing.T) {
	for kind, want := range map[string]any{GitRepositoryKind: &GitRepository{}, OCIRepositoryKind: &OCIRepository{}, BucketKind: &Bucket{}} {
		got, ok := NewKustomizationSource(kind)
		if !ok || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
			t.Errorf("%s: got %T, %v", kind, got, ok)
		}
	}
	for _, kind := range []string{HelmRepositoryKind, HelmChartKind, "ConfigMap", ""} {
		if got, ok := NewKustomizationSource(kind); ok || got != nil {
			t.Errorf("%s is not a Kustomization source: got %T, %v", kind, got, ok)
		}
	}
}
