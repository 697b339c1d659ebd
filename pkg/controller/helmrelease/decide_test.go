package helmrelease

import (
	"testing"
	"time"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/helm"
)

func rel(version int, status rcommon.Status, chartVersion string, values map[string]any) *release.Release {
	return &release.Release{Name: "app", Namespace: "ns", Version: version, Config: values,
		Info:  &release.Info{Status: status},
		Chart: &chart.Chart{Metadata: &chart.Metadata{Name: "app", Version: chartVersion}}}
}

func TestDecide(t *testing.T) {
	vals := map[string]any{"a": 1}
	d := desired{chart: &chart.Chart{Metadata: &chart.Metadata{Name: "app", Version: "1.0.0"}}, values: vals,
		valuesDigest: helm.ValuesDigest(vals), specDigest: "sha256:spec", generation: 2}
	hr := func(gen int64) *helmv1.HelmRelease {
		h := &helmv1.HelmRelease{}
		h.Status.LastAttemptedGeneration = gen
		return h
	}
	// released v3 with the spec digest spec, at generation 1.
	released := func(spec string) *helmv1.HelmRelease {
		h := hr(1)
		h.Status.History = helmv1.Snapshots{{Name: "app", Namespace: "ns", Version: 3, SpecDigest: spec}}
		return h
	}
	deployed := rel(3, rcommon.StatusDeployed, "1.0.0", vals)
	otherDefaults := rel(3, rcommon.StatusDeployed, "1.0.0", vals)
	otherDefaults.Chart.Values = map[string]any{"replicas": 3}
	for _, tt := range []struct {
		name  string
		hr    *helmv1.HelmRelease
		last  *release.Release
		hist  []*release.Release
		force bool
		want  releaseAction
	}{
		{"no release", hr(2), nil, nil, false, actInstall},
		{"uninstalled, history kept", hr(2), rel(1, rcommon.StatusUninstalled, "1.0.0", vals), []*release.Release{rel(1, rcommon.StatusUninstalled, "1.0.0", vals)}, false, actInstall},
		{"only a failed install", hr(2), rel(1, rcommon.StatusFailed, "1.0.0", vals), []*release.Release{rel(1, rcommon.StatusFailed, "1.0.0", vals)}, false, actInstall},
		{"in sync", hr(2), deployed, []*release.Release{deployed}, false, actNone},
		{"forced", hr(2), deployed, []*release.Release{deployed}, true, actUpgrade},
		{"new generation, no spec digest recorded", hr(1), deployed, []*release.Release{deployed}, false, actUpgrade},
		{"new generation, same spec digest (interval, suspend, dependsOn...)", released("sha256:spec"), deployed, []*release.Release{deployed}, false, actNone},
		{"new spec digest (post-renderers, names, upgrade CRDs)", released("sha256:other"), deployed, []*release.Release{deployed}, false, actUpgrade},
		{"new chart version", hr(2), rel(3, rcommon.StatusDeployed, "0.9.0", vals), []*release.Release{deployed}, false, actUpgrade},
		{"new values", hr(2), rel(3, rcommon.StatusDeployed, "1.0.0", map[string]any{"a": 2}), []*release.Release{deployed}, false, actUpgrade},
		{"same chart version packaged with other valuesFiles", hr(2), otherDefaults, []*release.Release{otherDefaults}, false, actUpgrade},
		{"failed upgrade of the same state", hr(2), rel(4, rcommon.StatusFailed, "1.0.0", vals), []*release.Release{rel(4, rcommon.StatusFailed, "1.0.0", vals), deployed}, false, actUpgrade},
	} {
		if got := decide(tt.hr, tt.last, tt.hist, d, tt.force); got != tt.want {
			t.Errorf("%s: decide = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestRetriesExhausted(t *testing.T) {
	retry := func(n int) *helmv1.HelmRelease {
		return &helmv1.HelmRelease{Spec: helmv1.HelmReleaseSpec{
			Install: &helmv1.Install{Remediation: &helmv1.InstallRemediation{Retries: n}},
			Upgrade: &helmv1.Upgrade{Remediation: &helmv1.UpgradeRemediation{Retries: n}},
		}}
	}
	for _, tt := range []struct {
		name     string
		hr       *helmv1.HelmRelease
		failures int64
		act      releaseAction
		want     bool
	}{
		{"no failure yet", retry(0), 0, actUpgrade, false},
		{"one failure, no retries", retry(0), 1, actUpgrade, true},
		{"one failure, one retry", retry(1), 1, actUpgrade, false},
		{"two failures, one retry", retry(1), 2, actInstall, true},
		{"forever", retry(-1), 100, actUpgrade, false},
	} {
		tt.hr.Status.InstallFailures, tt.hr.Status.UpgradeFailures = tt.failures, tt.failures
		if _, got := retriesExhausted(tt.hr, tt.act); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	retryOnFailure := &helmv1.HelmRelease{Spec: helmv1.HelmReleaseSpec{Upgrade: &helmv1.Upgrade{Strategy: &helmv1.UpgradeStrategy{Name: helmv1.RetryOnFailure}}}}
	retryOnFailure.Status.UpgradeFailures = 10
	if _, got := retriesExhausted(retryOnFailure, actUpgrade); got {
		t.Error("RetryOnFailure is never exhausted")
	}
}

func TestSpecDigest_OnlyFieldsThatShapeTheRelease(t *testing.T) {
	base := func() *helmv1.HelmRelease {
		return &helmv1.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"}}
	}
	want := specDigest(base())
	for name, mutate := range map[string]func(*helmv1.HelmRelease){
		"interval":  func(h *helmv1.HelmRelease) { h.Spec.Interval = &metav1.Duration{Duration: time.Hour} },
		"suspend":   func(h *helmv1.HelmRelease) { h.Spec.Suspend = true },
		"dependsOn": func(h *helmv1.HelmRelease) { h.Spec.DependsOn = []meta.DependencyReference{{Name: "db"}} },
		"driftDetection": func(h *helmv1.HelmRelease) {
			h.Spec.DriftDetection = &helmv1.DriftDetection{Mode: helmv1.DriftDetectionWarn}
		},
		"timeout": func(h *helmv1.HelmRelease) { h.Spec.Timeout = &metav1.Duration{Duration: time.Hour} },
		"test":    func(h *helmv1.HelmRelease) { h.Spec.Test = &helmv1.Test{Enable: true} },
		"upgrade.crds default": func(h *helmv1.HelmRelease) {
			h.Spec.Upgrade = &helmv1.Upgrade{CRDs: helmv1.CRDsSkip}
		},
	} {
		h := base()
		mutate(h)
		if got := specDigest(h); got != want {
			t.Errorf("%s changed the spec digest", name)
		}
	}
	for name, mutate := range map[string]func(*helmv1.HelmRelease){
		"postRenderers": func(h *helmv1.HelmRelease) {
			h.Spec.PostRenderers = []helmv1.PostRenderer{{Kustomize: &helmv1.KustomizePostRenderer{Images: []meta.Image{{Name: "x", NewTag: "2"}}}}}
		},
		"releaseName":      func(h *helmv1.HelmRelease) { h.Spec.ReleaseName = "other" },
		"targetNamespace":  func(h *helmv1.HelmRelease) { h.Spec.TargetNamespace = "prod" },
		"storageNamespace": func(h *helmv1.HelmRelease) { h.Spec.StorageNamespace = "helm" },
		"upgrade.crds":     func(h *helmv1.HelmRelease) { h.Spec.Upgrade = &helmv1.Upgrade{CRDs: helmv1.CRDsCreateReplace} },
	} {
		h := base()
		mutate(h)
		if got := specDigest(h); got == want {
			t.Errorf("%s did not change the spec digest", name)
		}
	}
}
