package v1

import (
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

var (
	_ meta.Reconcilable           = &HelmRelease{}
	_ meta.ObjectWithDependencies = &HelmRelease{}
	_ meta.ReconcilableList       = &HelmReleaseList{}
)

func ptr[T any](v T) *T { return &v }

func TestHelmReleaseDurations(t *testing.T) {
	hr := &HelmRelease{}
	if hr.GetInterval() != time.Minute || hr.GetTimeout() != time.Minute || hr.GetRequeueAfter() != time.Minute {
		t.Fatal("defaults")
	}
	hr.Spec.Interval = &metav1.Duration{Duration: 10 * time.Minute}
	if hr.GetTimeout() != 10*time.Minute {
		t.Fatal("timeout must default to the interval")
	}
	hr.Spec.Timeout = &metav1.Duration{Duration: 3 * time.Minute}
	if hr.GetTimeout() != 3*time.Minute {
		t.Fatal("explicit timeout")
	}
	// Actions default to the release's timeout.
	def := hr.GetTimeout()
	if hr.GetInstall().GetTimeout(def) != def || hr.GetUpgrade().GetTimeout(def) != def ||
		hr.GetTest().GetTimeout(def) != def || hr.GetRollback().GetTimeout(def) != def ||
		hr.GetUninstall().GetTimeout(def) != def {
		t.Fatal("action timeouts must default to the release's")
	}
	hr.Spec.Install = &Install{Timeout: &metav1.Duration{Duration: time.Second}}
	if hr.GetInstall().GetTimeout(def) != time.Second {
		t.Fatal("explicit install timeout")
	}

	hr.Spec.Chart = &HelmChartTemplate{}
	if hr.Spec.Chart.GetInterval(hr.GetInterval()) != 10*time.Minute {
		t.Fatal("chart interval must default to the release's")
	}
	hr.Spec.Chart.Spec.Interval = &metav1.Duration{Duration: time.Hour}
	if hr.Spec.Chart.GetInterval(hr.GetInterval()) != time.Hour {
		t.Fatal("explicit chart interval")
	}
}

func TestHelmRelease_DefaultReleaseNameFitsHelmsLimit(t *testing.T) {
	hr := &HelmRelease{ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("w", 40), Namespace: "apps"}}
	hr.Spec.TargetNamespace = "production-" + strings.Repeat("n", 20)
	full := hr.Spec.TargetNamespace + "-" + hr.Name
	got := hr.GetReleaseName()
	if len(got) > MaxReleaseNameLength {
		t.Fatalf("release name %q has %d characters", got, len(got))
	}
	if !strings.HasPrefix(got, full[:30]) {
		t.Errorf("release name %q does not start like %q", got, full)
	}
	if again := hr.DeepCopy().GetReleaseName(); again != got {
		t.Errorf("not stable: %q then %q", got, again)
	}
	other := hr.DeepCopy()
	other.Name = strings.Repeat("w", 39) + "x"
	if other.GetReleaseName() == got {
		t.Errorf("two names that share their start are both %q", got)
	}
	// The dash before the digest never follows a '.' or a '-'.
	dotted := &HelmRelease{ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("a", 41) + ".-" + strings.Repeat("b", 20)}}
	if n := dotted.GetReleaseName(); len(n) > MaxReleaseNameLength || strings.Contains(n, ".-") || strings.Contains(n, "--") {
		t.Errorf("release name %q", n)
	}
	// A name that fits, and an explicit one, are kept.
	exact := &HelmRelease{ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("e", MaxReleaseNameLength)}}
	if exact.GetReleaseName() != exact.Name {
		t.Errorf("a %d-character name was changed to %q", MaxReleaseNameLength, exact.GetReleaseName())
	}
	hr.Spec.ReleaseName = "web"
	if hr.GetReleaseName() != "web" {
		t.Errorf("explicit release name: %q", hr.GetReleaseName())
	}
}

func TestHelmReleaseNames(t *testing.T) {
	hr := &HelmRelease{ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "apps"}}
	if hr.GetReleaseName() != "podinfo" || hr.GetReleaseNamespace() != "apps" || hr.GetStorageNamespace() != "apps" {
		t.Fatal("defaults")
	}
	if hr.GetHelmChartName() != "apps-podinfo" {
		t.Fatal("HelmChart name")
	}
	hr.Spec.TargetNamespace = "prod"
	if hr.GetReleaseName() != "prod-podinfo" || hr.GetReleaseNamespace() != "prod" || hr.GetStorageNamespace() != "apps" {
		t.Fatal("target namespace")
	}
	hr.Spec.ReleaseName = "web"
	hr.Spec.StorageNamespace = "helm"
	if hr.GetReleaseName() != "web" || hr.GetStorageNamespace() != "helm" {
		t.Fatal("explicit names")
	}
	hr.Spec.Chart = &HelmChartTemplate{Spec: HelmChartTemplateSpec{SourceRef: meta.CrossNamespaceSourceReference{Kind: "HelmRepository", Name: "r"}}}
	if hr.Spec.Chart.GetNamespace(hr.Namespace) != "apps" {
		t.Fatal("chart namespace must default to the release's")
	}
	if !hr.HasChartTemplate() || hr.HasChartRef() {
		t.Fatal("chart template")
	}
}

func TestHelmReleaseDefaults(t *testing.T) {
	hr := &HelmRelease{}
	if hr.GetMaxHistory() != DefaultMaxHistory {
		t.Fatal("max history")
	}
	hr.Spec.MaxHistory = ptr(0)
	if hr.GetMaxHistory() != 0 {
		t.Fatal("max history 0 keeps all")
	}

	// Tether enables drift detection by default, unlike Flux.
	if d := hr.GetDriftDetection(); d.GetMode() != DriftDetectionEnabled || !d.MustDetectChanges() {
		t.Fatal("drift detection must be enabled by default")
	}
	hr.Spec.DriftDetection = &DriftDetection{}
	if hr.GetDriftDetection().GetMode() != DriftDetectionEnabled {
		t.Fatal("an empty mode means enabled")
	}
	hr.Spec.DriftDetection.Mode = DriftDetectionWarn
	if !hr.GetDriftDetection().MustDetectChanges() {
		t.Fatal("warn detects changes")
	}
	hr.Spec.DriftDetection.Mode = DriftDetectionDisabled
	if hr.GetDriftDetection().MustDetectChanges() {
		t.Fatal("disabled does not detect changes")
	}

	if hr.GetUninstall().GetDeletionPropagation() != "background" {
		t.Fatal("deletion propagation")
	}
	hr.Spec.Uninstall = &Uninstall{DeletionPropagation: ptr("foreground")}
	if hr.GetUninstall().GetDeletionPropagation() != "foreground" {
		t.Fatal("explicit deletion propagation")
	}

	if hr.GetInstall().GetCRDsPolicy() != CRDsCreate || hr.GetUpgrade().GetCRDsPolicy() != CRDsSkip {
		t.Fatal("CRDs policy defaults")
	}
	if (Install{SkipCRDs: true}).GetCRDsPolicy() != CRDsSkip || (Install{SkipCRDs: true, CRDs: CRDsCreateReplace}).GetCRDsPolicy() != CRDsCreateReplace {
		t.Fatal("skipCRDs")
	}
}

func TestStrategiesAndRemediation(t *testing.T) {
	hr := &HelmRelease{}
	if hr.GetInstall().GetStrategy().Name != RemediateOnFailure || hr.GetUpgrade().GetStrategy().Name != RemediateOnFailure {
		t.Fatal("default strategy")
	}
	if hr.GetInstall().GetStrategy().GetRetryInterval() != DefaultStrategyRetryInterval {
		t.Fatal("default retry interval")
	}
	hr.Spec.Upgrade = &Upgrade{Strategy: &UpgradeStrategy{Name: RetryOnFailure, RetryInterval: &metav1.Duration{Duration: time.Minute}}}
	if s := hr.GetUpgrade().GetStrategy(); s.Name != RetryOnFailure || s.GetRetryInterval() != time.Minute {
		t.Fatal("explicit upgrade strategy")
	}

	ir := hr.GetInstall().GetRemediation()
	if ir.GetRetries() != 0 || ir.MustRemediateLastFailure() || !ir.MustIgnoreTestFailures(true) || ir.MustIgnoreTestFailures(false) {
		t.Fatal("install remediation defaults")
	}
	if ir.RetriesExhausted(0) || !ir.RetriesExhausted(1) {
		t.Fatal("0 retries: the first failure exhausts them")
	}
	if (InstallRemediation{Retries: -1}).RetriesExhausted(1000) {
		t.Fatal("negative retries never exhaust")
	}

	ur := hr.GetUpgrade().GetRemediation()
	if ur.GetStrategy() != RollbackRemediationStrategy || ur.MustRemediateLastFailure() {
		t.Fatal("upgrade remediation defaults")
	}
	ur = UpgradeRemediation{Retries: 2, Strategy: ptr(UninstallRemediationStrategy), IgnoreTestFailures: ptr(true)}
	if ur.GetStrategy() != UninstallRemediationStrategy || !ur.MustRemediateLastFailure() || !ur.MustIgnoreTestFailures(false) {
		t.Fatal("upgrade remediation")
	}
	if ur.RetriesExhausted(2) || !ur.RetriesExhausted(3) {
		t.Fatal("RetriesExhausted")
	}
	ur.RemediateLastFailure = ptr(false)
	if ur.MustRemediateLastFailure() {
		t.Fatal("explicit remediateLastFailure")
	}
}

func TestValues(t *testing.T) {
	hr := &HelmRelease{}
	if v, err := hr.GetValues(); v != nil || err != nil {
		t.Fatal("no values")
	}
	hr.Spec.Values = &apiextensionsv1.JSON{Raw: []byte(`{"replicas":2,"image":{"tag":"v1"}}`)}
	v, err := hr.GetValues()
	if err != nil || v["replicas"] != float64(2) || v["image"].(map[string]any)["tag"] != "v1" {
		t.Fatalf("values = %v, %v", v, err)
	}
	hr.Spec.Values.Raw = []byte(`[1]`)
	if _, err := hr.GetValues(); err == nil {
		t.Fatal("values must be an object")
	}
	if (ValuesReference{}).GetValuesKey() != "values.yaml" || (ValuesReference{ValuesKey: "v"}).GetValuesKey() != "v" {
		t.Fatal("values key")
	}
}

func TestStatusHelpers(t *testing.T) {
	s := HelmReleaseStatus{HelmChart: "flux-system/apps-podinfo", Failures: 1, InstallFailures: 2, UpgradeFailures: 3}
	if ns, n := s.GetHelmChart(); ns != "flux-system" || n != "apps-podinfo" {
		t.Fatal("GetHelmChart")
	}
	if ns, n := (HelmReleaseStatus{}).GetHelmChart(); ns != "" || n != "" {
		t.Fatal("empty GetHelmChart")
	}
	s.ClearFailures()
	if s.Failures+s.InstallFailures+s.UpgradeFailures != 0 {
		t.Fatal("ClearFailures")
	}

	hooks := map[string]*TestHookStatus{"t": {Phase: "Failed"}}
	h := Snapshots{
		{Name: "a", Namespace: "ns", Version: 3, Status: "failed"},
		{Name: "a", Namespace: "ns", Version: 2, Status: "superseded", TestHooks: &hooks},
		{Name: "a", Namespace: "ns", Version: 1, Status: "superseded"},
	}
	if h.Latest().Version != 3 || h.Latest().FullReleaseName() != "ns/a.v3" {
		t.Fatal("Latest")
	}
	if h.Previous(true).Version != 2 || h.Previous(false).Version != 1 {
		t.Fatal("Previous")
	}
	if (Snapshots{}).Latest() != nil || h[:1].Previous(true) != nil {
		t.Fatal("empty history")
	}
}

func TestHelmReleaseAccessors(t *testing.T) {
	hr := &HelmRelease{}
	hr.SetSuspended(true)
	hr.SetLastHandledReconcileRequest("r")
	hr.SetObservedGeneration(4)
	if !hr.IsSuspended() || hr.GetLastHandledReconcileRequest() != "r" || hr.GetObservedGeneration() != 4 {
		t.Fatal("accessors")
	}
	meta.MarkTrue(hr, meta.ReleasedCondition, InstallSucceededReason, "installed")
	if !meta.IsTrue(hr, meta.ReleasedCondition) {
		t.Fatal("conditions")
	}
	hr.Spec.DependsOn = []meta.DependencyReference{{Name: "db"}, {Kind: "Kustomization", Name: "infra"}}
	if d := hr.GetDependsOn(); d[0].KindOr(HelmReleaseKind) != HelmReleaseKind || d[1].KindOr(HelmReleaseKind) != "Kustomization" {
		t.Fatal("dependsOn kinds")
	}
	if items := (&HelmReleaseList{Items: []HelmRelease{*hr}}).GetItems(); len(items) != 1 || !items[0].IsSuspended() {
		t.Fatal("GetItems")
	}
}
