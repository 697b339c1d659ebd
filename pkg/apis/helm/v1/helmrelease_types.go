package v1

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

const (
	// DefaultMaxHistory is the number of release versions Helm keeps when
	// spec.maxHistory is unset.
	DefaultMaxHistory = 5
	// DefaultStrategyRetryInterval is the retry interval of the
	// RetryOnFailure strategy when unset.
	DefaultStrategyRetryInterval = 5 * time.Minute
)

// HelmReleaseSpec says which chart to release, where, with which values, and
// how to install, upgrade, test, roll back and uninstall it. Exactly one of
// chart and chartRef must be set.
// +kubebuilder:validation:XValidation:rule="has(self.chart) != has(self.chartRef)",message="exactly one of chart and chartRef must be set"
type HelmReleaseSpec struct {
	// Chart is the template of a HelmChart that the controller creates, in
	// the namespace of its source, to fetch the chart.
	// +optional
	Chart *HelmChartTemplate `json:"chart,omitempty"`

	// ChartRef names an existing OCIRepository or HelmChart that provides the
	// chart.
	// +kubebuilder:validation:XValidation:rule="self.kind in ['OCIRepository', 'HelmChart']",message="chartRef.kind must be OCIRepository or HelmChart"
	// +optional
	ChartRef *meta.CrossNamespaceSourceReference `json:"chartRef,omitempty"`

	// Interval between two reconciliations. Defaults to 1m.
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Timeout of each Kubernetes operation of a Helm action (such as waiting
	// for resources or hook Jobs). Each action may override it. Defaults to
	// the interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// KubeConfig releases to another cluster, with the kubeconfig in a Secret.
	// With serviceAccountName, that ServiceAccount is impersonated in the
	// other cluster.
	// +optional
	KubeConfig *meta.KubeConfigReference `json:"kubeConfig,omitempty"`

	// Suspend stops the reconciliation of this HelmRelease until it is set to
	// false again.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// ReleaseName is the Helm release name. Defaults to
	// "[<targetNamespace>-]<name>", shortened to 53 characters when longer
	// (its first 42 characters, a dash and 10 hexadecimal digits of its
	// SHA-256).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=53
	// +optional
	ReleaseName string `json:"releaseName,omitempty"`

	// TargetNamespace is the namespace of the release. Defaults to the
	// HelmRelease's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	TargetNamespace string `json:"targetNamespace,omitempty"`

	// StorageNamespace is the namespace of Helm's release Secrets. Defaults to
	// the HelmRelease's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	StorageNamespace string `json:"storageNamespace,omitempty"`

	// DependsOn lists the HelmReleases and Kustomizations that must be Ready
	// before this HelmRelease is reconciled. An entry without kind names a
	// HelmRelease.
	// +optional
	DependsOn []meta.DependencyReference `json:"dependsOn,omitempty"`

	// MaxHistory is the number of release versions Helm keeps; 0 keeps all.
	// Defaults to 5.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxHistory *int `json:"maxHistory,omitempty"`

	// ServiceAccountName names the ServiceAccount, in the HelmRelease's
	// namespace, to impersonate for Helm actions.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// DriftDetection compares the cluster's objects with the release manifest.
	// Unlike Flux, it is enabled by default.
	// +optional
	DriftDetection *DriftDetection `json:"driftDetection,omitempty"`

	// Install configures Helm install actions.
	// +optional
	Install *Install `json:"install,omitempty"`

	// Upgrade configures Helm upgrade actions.
	// +optional
	Upgrade *Upgrade `json:"upgrade,omitempty"`

	// Test configures Helm test actions.
	// +optional
	Test *Test `json:"test,omitempty"`

	// Rollback configures Helm rollback actions.
	// +optional
	Rollback *Rollback `json:"rollback,omitempty"`

	// Uninstall configures Helm uninstall actions.
	// +optional
	Uninstall *Uninstall `json:"uninstall,omitempty"`

	// ValuesFrom lists ConfigMaps and Secrets holding values, merged in order;
	// values is merged last.
	// +optional
	ValuesFrom []ValuesReference `json:"valuesFrom,omitempty"`

	// Values are the chart values, merged over those of valuesFrom.
	// +optional
	Values *apiextensionsv1.JSON `json:"values,omitempty"`

	// PostRenderers modify the rendered manifests, in order, before they are
	// applied.
	// +optional
	PostRenderers []PostRenderer `json:"postRenderers,omitempty"`
}

// HelmChartTemplate is the template of the HelmChart created for a
// HelmRelease.
type HelmChartTemplate struct {
	// ObjectMeta holds labels and annotations for the HelmChart.
	// +optional
	ObjectMeta *HelmChartTemplateObjectMeta `json:"metadata,omitempty"`

	// Spec of the HelmChart.
	// +required
	Spec HelmChartTemplateSpec `json:"spec"`
}

// HelmChartTemplateObjectMeta holds the metadata of the HelmChart created for
// a HelmRelease.
type HelmChartTemplateObjectMeta struct {
	// Labels of the HelmChart.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Annotations of the HelmChart.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// HelmChartTemplateSpec is the spec of the HelmChart created for a
// HelmRelease.
type HelmChartTemplateSpec struct {
	// Chart is the chart's name in a HelmRepository, or its path in a
	// GitRepository or Bucket.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +required
	Chart string `json:"chart"`

	// Version is a semantic version range; the highest matching version is
	// used. Ignored for charts from a GitRepository or Bucket. Defaults to
	// the latest version.
	// +kubebuilder:default:="*"
	// +optional
	Version string `json:"version,omitempty"`

	// SourceRef names the HelmRepository, GitRepository or Bucket to fetch the
	// chart from.
	// +kubebuilder:validation:XValidation:rule="self.kind in ['HelmRepository', 'GitRepository', 'Bucket']",message="sourceRef.kind must be HelmRepository, GitRepository or Bucket"
	// +required
	SourceRef meta.CrossNamespaceSourceReference `json:"sourceRef"`

	// Interval between two checks of the source for a new chart. Defaults to
	// the HelmRelease's interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// ReconcileStrategy says what makes a new chart Artifact: a new chart
	// version (ChartVersion) or a new source revision (Revision).
	// +kubebuilder:validation:Enum=ChartVersion;Revision
	// +kubebuilder:default:=ChartVersion
	// +optional
	ReconcileStrategy string `json:"reconcileStrategy,omitempty"`

	// ValuesFiles are paths, in the source, of values files merged in order
	// into the chart's values.yaml.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	ValuesFiles []string `json:"valuesFiles,omitempty"`

	// IgnoreMissingValuesFiles skips values files that do not exist instead of
	// failing.
	// +optional
	IgnoreMissingValuesFiles bool `json:"ignoreMissingValuesFiles,omitempty"`

	// Verify checks the signature of a chart from an OCI HelmRepository.
	// +optional
	Verify *HelmChartTemplateVerification `json:"verify,omitempty"`
}

// HelmChartTemplateVerification configures the verification of an OCI chart's
// signature.
type HelmChartTemplateVerification struct {
	// Provider is the signing technology.
	// +kubebuilder:validation:Enum=cosign;notation
	// +kubebuilder:default:=cosign
	// +required
	Provider string `json:"provider"`

	// SecretRef names a Secret holding the trusted public keys.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`
}

// GetInterval returns the chart's interval, or def.
func (in HelmChartTemplate) GetInterval(def time.Duration) time.Duration {
	return meta.DurationOr(in.Spec.Interval, def)
}

// GetNamespace returns the namespace of the chart's source, or def.
func (in HelmChartTemplate) GetNamespace(def string) string {
	return in.Spec.SourceRef.NamespaceOr(def)
}

// DriftDetectionMode says what to do about differences between the cluster
// and the release manifest.
type DriftDetectionMode string

const (
	// DriftDetectionEnabled detects differences and corrects them.
	DriftDetectionEnabled DriftDetectionMode = "enabled"
	// DriftDetectionWarn detects differences and reports them without
	// correcting them.
	DriftDetectionWarn DriftDetectionMode = "warn"
	// DriftDetectionDisabled does not look for differences.
	DriftDetectionDisabled DriftDetectionMode = "disabled"
)

// DriftDetection configures the detection of differences between the
// cluster's objects and the release manifest.
type DriftDetection struct {
	// Mode is enabled (detect and correct), warn (detect and report) or
	// disabled. Defaults to enabled.
	// +kubebuilder:validation:Enum=enabled;warn;disabled
	// +kubebuilder:default:=enabled
	// +optional
	Mode DriftDetectionMode `json:"mode,omitempty"`

	// Ignore lists fields not to compare.
	// +optional
	Ignore []IgnoreRule `json:"ignore,omitempty"`
}

// GetMode returns the mode, enabled when unset.
func (in DriftDetection) GetMode() DriftDetectionMode {
	if in.Mode == "" {
		return DriftDetectionEnabled
	}
	return in.Mode
}

// MustDetectChanges reports whether differences must be looked for.
func (in DriftDetection) MustDetectChanges() bool {
	m := in.GetMode()
	return m == DriftDetectionEnabled || m == DriftDetectionWarn
}

// IgnoreRule leaves fields out of drift detection.
type IgnoreRule struct {
	// Paths are JSON pointers (RFC 6901) to the fields to ignore.
	// +kubebuilder:validation:MinItems=1
	// +required
	Paths []string `json:"paths"`

	// Target selects the objects the rule applies to; all objects of the
	// release when omitted.
	// +optional
	Target *meta.Selector `json:"target,omitempty"`
}

// ValuesReference names a ConfigMap or Secret holding chart values.
type ValuesReference struct {
	// Kind of the object: ConfigMap or Secret.
	// +kubebuilder:validation:Enum=Secret;ConfigMap
	// +required
	Kind string `json:"kind"`

	// Name of the object, in the HelmRelease's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// ValuesKey is the data key holding the values. Defaults to values.yaml.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[\-._a-zA-Z0-9]+$`
	// +optional
	ValuesKey string `json:"valuesKey,omitempty"`

	// TargetPath is the path, in Helm --set syntax, at which the data value
	// is placed; the value is then used as a single value, not parsed as
	// YAML. Defaults to merging the parsed data at the root.
	// +kubebuilder:validation:MaxLength=250
	// +kubebuilder:validation:Pattern=`^([a-zA-Z0-9_\-.\\\/]|\[[0-9]{1,5}\])+$`
	// +optional
	TargetPath string `json:"targetPath,omitempty"`

	// Optional tolerates a missing object or key.
	// +optional
	Optional bool `json:"optional,omitempty"`
}

// GetValuesKey returns valuesKey, or values.yaml.
func (in ValuesReference) GetValuesKey() string {
	if in.ValuesKey == "" {
		return "values.yaml"
	}
	return in.ValuesKey
}

// PostRenderer modifies rendered manifests.
type PostRenderer struct {
	// Kustomize applies patches and image rewrites.
	// +optional
	Kustomize *KustomizePostRenderer `json:"kustomize,omitempty"`
}

// KustomizePostRenderer applies kustomize patches and image rewrites to the
// rendered manifests.
type KustomizePostRenderer struct {
	// Patches to apply: strategic-merge or JSON 6902.
	// +optional
	Patches []meta.Patch `json:"patches,omitempty"`

	// Images rewrites container image names, tags or digests.
	// +optional
	Images []meta.Image `json:"images,omitempty"`
}

// ReleaseAction is a Helm action that produces a release.
type ReleaseAction string

const (
	// ReleaseActionInstall is a Helm install.
	ReleaseActionInstall ReleaseAction = "install"
	// ReleaseActionUpgrade is a Helm upgrade.
	ReleaseActionUpgrade ReleaseAction = "upgrade"
)

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=hr,categories=tether
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Revision",type="string",JSONPath=".status.history[0].chartVersion"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Chart",type="string",JSONPath=".status.history[0].chartName",priority=1
// +kubebuilder:printcolumn:name="Attempted",type="string",JSONPath=".status.lastAttemptedRevision",priority=1
// +kubebuilder:printcolumn:name="Suspended",type="boolean",JSONPath=".spec.suspend",priority=1

// HelmRelease installs a Helm chart and keeps the release up to date with the
// chart, the values and the cluster.
type HelmRelease struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	// +required
	Spec HelmReleaseSpec `json:"spec"`

	// Status is the observed state.
	// +kubebuilder:default={"observedGeneration":-1}
	// +optional
	Status HelmReleaseStatus `json:"status,omitempty"`
}

// GetDependsOn returns spec.dependsOn.
func (in *HelmRelease) GetDependsOn() []meta.DependencyReference { return in.Spec.DependsOn }

// HasChartRef reports whether spec.chartRef is set.
func (in *HelmRelease) HasChartRef() bool { return in.Spec.ChartRef != nil }

// HasChartTemplate reports whether spec.chart is set.
func (in *HelmRelease) HasChartTemplate() bool { return in.Spec.Chart != nil }

// MaxReleaseNameLength is the longest release name Helm accepts.
const MaxReleaseNameLength = 53

// GetReleaseName returns spec.releaseName, or "[<targetNamespace>-]<name>"
// made to fit MaxReleaseNameLength (see ShortReleaseName).
func (in *HelmRelease) GetReleaseName() string {
	if in.Spec.ReleaseName != "" {
		return in.Spec.ReleaseName
	}
	if in.Spec.TargetNamespace != "" {
		return ShortReleaseName(in.Spec.TargetNamespace + "-" + in.Name)
	}
	return ShortReleaseName(in.Name)
}

// ShortReleaseName returns name when it fits MaxReleaseNameLength, else the
// start of it, a dash and 10 hexadecimal digits of the SHA-256 of the whole
// name: the same for the same name, and different names that share their
// start stay apart.
func ShortReleaseName(name string) string {
	if len(name) <= MaxReleaseNameLength {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	suffix := hex.EncodeToString(sum[:])[:10]
	// A name part may not end with '.' or '-' before the dash.
	prefix := strings.TrimRight(name[:MaxReleaseNameLength-1-len(suffix)], ".-")
	return prefix + "-" + suffix
}

// GetReleaseNamespace returns spec.targetNamespace, or the namespace of the
// HelmRelease.
func (in *HelmRelease) GetReleaseNamespace() string {
	if in.Spec.TargetNamespace != "" {
		return in.Spec.TargetNamespace
	}
	return in.Namespace
}

// GetStorageNamespace returns spec.storageNamespace, or the namespace of the
// HelmRelease.
func (in *HelmRelease) GetStorageNamespace() string {
	if in.Spec.StorageNamespace != "" {
		return in.Spec.StorageNamespace
	}
	return in.Namespace
}

// GetHelmChartName returns the name of the HelmChart created for spec.chart:
// "<namespace>-<name>".
func (in *HelmRelease) GetHelmChartName() string {
	return in.Namespace + "-" + in.Name
}

// GetMaxHistory returns spec.maxHistory, or DefaultMaxHistory.
func (in *HelmRelease) GetMaxHistory() int {
	if in.Spec.MaxHistory == nil {
		return DefaultMaxHistory
	}
	return *in.Spec.MaxHistory
}

// GetValues decodes spec.values; it returns nil when unset.
func (in *HelmRelease) GetValues() (map[string]any, error) {
	if in.Spec.Values == nil || len(in.Spec.Values.Raw) == 0 {
		return nil, nil
	}
	var values map[string]any
	if err := json.Unmarshal(in.Spec.Values.Raw, &values); err != nil {
		return nil, err
	}
	return values, nil
}

// GetDriftDetection returns spec.driftDetection; when unset, drift detection
// is enabled.
func (in *HelmRelease) GetDriftDetection() DriftDetection {
	if in.Spec.DriftDetection == nil {
		return DriftDetection{Mode: DriftDetectionEnabled}
	}
	return *in.Spec.DriftDetection
}

// GetInstall returns spec.install, the zero value when unset.
func (in *HelmRelease) GetInstall() Install {
	if in.Spec.Install == nil {
		return Install{}
	}
	return *in.Spec.Install
}

// GetUpgrade returns spec.upgrade, the zero value when unset.
func (in *HelmRelease) GetUpgrade() Upgrade {
	if in.Spec.Upgrade == nil {
		return Upgrade{}
	}
	return *in.Spec.Upgrade
}

// GetTest returns spec.test, the zero value when unset.
func (in *HelmRelease) GetTest() Test {
	if in.Spec.Test == nil {
		return Test{}
	}
	return *in.Spec.Test
}

// GetRollback returns spec.rollback, the zero value when unset.
func (in *HelmRelease) GetRollback() Rollback {
	if in.Spec.Rollback == nil {
		return Rollback{}
	}
	return *in.Spec.Rollback
}

// GetUninstall returns spec.uninstall, the zero value when unset.
func (in *HelmRelease) GetUninstall() Uninstall {
	if in.Spec.Uninstall == nil {
		return Uninstall{}
	}
	return *in.Spec.Uninstall
}

// GetConditions returns status.conditions.
func (in *HelmRelease) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions sets status.conditions.
func (in *HelmRelease) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// IsSuspended reports whether spec.suspend is true.
func (in *HelmRelease) IsSuspended() bool { return in.Spec.Suspend }

// SetSuspended sets spec.suspend.
func (in *HelmRelease) SetSuspended(s bool) { in.Spec.Suspend = s }

// GetInterval returns spec.interval, or meta.DefaultInterval.
func (in *HelmRelease) GetInterval() time.Duration { return meta.IntervalOrDefault(in.Spec.Interval) }

// GetTimeout returns spec.timeout, or the interval.
func (in *HelmRelease) GetTimeout() time.Duration {
	return meta.DurationOr(in.Spec.Timeout, in.GetInterval())
}

// GetRequeueAfter returns the interval.
func (in *HelmRelease) GetRequeueAfter() time.Duration { return in.GetInterval() }

// GetLastHandledReconcileRequest returns status.lastHandledReconcileAt.
func (in *HelmRelease) GetLastHandledReconcileRequest() string {
	return in.Status.LastHandledReconcileAt
}

// SetLastHandledReconcileRequest sets status.lastHandledReconcileAt.
func (in *HelmRelease) SetLastHandledReconcileRequest(v string) {
	in.Status.LastHandledReconcileAt = v
}

// GetObservedGeneration returns status.observedGeneration.
func (in *HelmRelease) GetObservedGeneration() int64 { return in.Status.ObservedGeneration }

// SetObservedGeneration sets status.observedGeneration.
func (in *HelmRelease) SetObservedGeneration(g int64) { in.Status.ObservedGeneration = g }

// +kubebuilder:object:root=true

// HelmReleaseList is a list of HelmReleases.
type HelmReleaseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HelmRelease `json:"items"`
}

// GetItems returns pointers to the items.
func (in *HelmReleaseList) GetItems() []meta.Reconcilable {
	out := make([]meta.Reconcilable, len(in.Items))
	for i := range in.Items {
		out[i] = &in.Items[i]
	}
	return out
}

func init() {
	SchemeBuilder.Register(&HelmRelease{}, &HelmReleaseList{})
}
