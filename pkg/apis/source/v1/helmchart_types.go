package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// Reconcile strategies of a HelmChart.
const (
	// ReconcileStrategyChartVersion produces a new Artifact when the chart
	// version changes.
	ReconcileStrategyChartVersion = "ChartVersion"
	// ReconcileStrategyRevision produces a new Artifact when the source
	// revision changes.
	ReconcileStrategyRevision = "Revision"
)

// HelmChartSpec says which chart to fetch and from where.
type HelmChartSpec struct {
	// Chart is the chart's name in a HelmRepository, or its path in a
	// GitRepository or Bucket.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +required
	Chart string `json:"chart"`

	// Version is a semantic version range; the highest matching version is
	// fetched. Ignored for charts from a GitRepository or Bucket. Defaults to
	// the latest version.
	// +kubebuilder:default:="*"
	// +optional
	Version string `json:"version,omitempty"`

	// SourceRef names the source to fetch the chart from.
	// +required
	SourceRef LocalHelmChartSourceReference `json:"sourceRef"`

	// Interval between two checks of the source for a new chart. Defaults to
	// 1m.
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Timeout of chart downloads. Defaults to the interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// ReconcileStrategy says what makes a new Artifact: a new chart version
	// (ChartVersion) or a new source revision (Revision).
	// +kubebuilder:validation:Enum=ChartVersion;Revision
	// +kubebuilder:default:=ChartVersion
	// +optional
	ReconcileStrategy string `json:"reconcileStrategy,omitempty"`

	// ValuesFiles are paths, in the source, of values files merged in order
	// into the chart's values.yaml (later files win).
	// +kubebuilder:validation:MaxItems=64
	// +optional
	ValuesFiles []string `json:"valuesFiles,omitempty"`

	// IgnoreMissingValuesFiles skips values files that do not exist instead of
	// failing.
	// +optional
	IgnoreMissingValuesFiles bool `json:"ignoreMissingValuesFiles,omitempty"`

	// Suspend stops the reconciliation of this HelmChart until it is set to
	// false again.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// Verify checks the signature of a chart from an OCI HelmRepository.
	// +optional
	Verify *OCIRepositoryVerification `json:"verify,omitempty"`
}

// LocalHelmChartSourceReference names the source of a HelmChart, in the same
// namespace.
type LocalHelmChartSourceReference struct {
	// APIVersion of the source, e.g. source.tether.dev/v1.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the source.
	// +kubebuilder:validation:Enum=HelmRepository;GitRepository;Bucket
	// +required
	Kind string `json:"kind"`

	// Name of the source.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// HelmChartStatus is the observed state of a HelmChart.
type HelmChartStatus struct {
	// ObservedGeneration is the generation of the spec last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// ObservedSourceArtifactRevision is the revision of the source Artifact
	// the chart was last built from.
	// +optional
	ObservedSourceArtifactRevision string `json:"observedSourceArtifactRevision,omitempty"`

	// ObservedChartName is the chart name last resolved from spec.chart.
	// +optional
	ObservedChartName string `json:"observedChartName,omitempty"`

	// ObservedValuesFiles are the values files last merged into the chart.
	// +optional
	ObservedValuesFiles []string `json:"observedValuesFiles,omitempty"`

	// Conditions of the HelmChart.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// URL the chart can be downloaded from inside the cluster.
	// +optional
	URL string `json:"url,omitempty"`

	// Artifact is the last packaged chart stored.
	// +optional
	Artifact *meta.Artifact `json:"artifact,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=hc,categories=tether
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Revision",type="string",JSONPath=".status.artifact.revision"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Chart",type="string",JSONPath=".spec.chart",priority=1
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.version",priority=1
// +kubebuilder:printcolumn:name="Source Kind",type="string",JSONPath=".spec.sourceRef.kind",priority=1
// +kubebuilder:printcolumn:name="Source Name",type="string",JSONPath=".spec.sourceRef.name",priority=1
// +kubebuilder:printcolumn:name="Suspended",type="boolean",JSONPath=".spec.suspend",priority=1

// HelmChart fetches a Helm chart from a HelmRepository, or packages it from a
// GitRepository or Bucket, and publishes it as an Artifact.
type HelmChart struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	// +required
	Spec HelmChartSpec `json:"spec"`

	// Status is the observed state.
	// +kubebuilder:default={"observedGeneration":-1}
	// +optional
	Status HelmChartStatus `json:"status,omitempty"`
}

// GetValuesFiles returns spec.valuesFiles.
func (in *HelmChart) GetValuesFiles() []string { return in.Spec.ValuesFiles }

// GetReconcileStrategy returns spec.reconcileStrategy, or ChartVersion.
func (in *HelmChart) GetReconcileStrategy() string {
	if in.Spec.ReconcileStrategy == "" {
		return ReconcileStrategyChartVersion
	}
	return in.Spec.ReconcileStrategy
}

// GetVersion returns spec.version, or "*" (the latest version).
func (in *HelmChart) GetVersion() string {
	if in.Spec.Version == "" {
		return "*"
	}
	return in.Spec.Version
}

// GetConditions returns status.conditions.
func (in *HelmChart) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions sets status.conditions.
func (in *HelmChart) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// IsSuspended reports whether spec.suspend is true.
func (in *HelmChart) IsSuspended() bool { return in.Spec.Suspend }

// SetSuspended sets spec.suspend.
func (in *HelmChart) SetSuspended(s bool) { in.Spec.Suspend = s }

// GetInterval returns spec.interval, or meta.DefaultInterval.
func (in *HelmChart) GetInterval() time.Duration { return meta.IntervalOrDefault(in.Spec.Interval) }

// GetTimeout returns spec.timeout, or the interval.
func (in *HelmChart) GetTimeout() time.Duration {
	return meta.DurationOr(in.Spec.Timeout, in.GetInterval())
}

// GetRequeueAfter returns the interval.
func (in *HelmChart) GetRequeueAfter() time.Duration { return in.GetInterval() }

// GetLastHandledReconcileRequest returns status.lastHandledReconcileAt.
func (in *HelmChart) GetLastHandledReconcileRequest() string {
	return in.Status.LastHandledReconcileAt
}

// SetLastHandledReconcileRequest sets status.lastHandledReconcileAt.
func (in *HelmChart) SetLastHandledReconcileRequest(v string) {
	in.Status.LastHandledReconcileAt = v
}

// GetObservedGeneration returns status.observedGeneration.
func (in *HelmChart) GetObservedGeneration() int64 { return in.Status.ObservedGeneration }

// SetObservedGeneration sets status.observedGeneration.
func (in *HelmChart) SetObservedGeneration(g int64) { in.Status.ObservedGeneration = g }

// GetArtifact returns status.artifact.
func (in *HelmChart) GetArtifact() *meta.Artifact { return in.Status.Artifact }

// +kubebuilder:object:root=true

// HelmChartList is a list of HelmCharts.
type HelmChartList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HelmChart `json:"items"`
}

// GetItems returns pointers to the items.
func (in *HelmChartList) GetItems() []meta.Reconcilable {
	out := make([]meta.Reconcilable, len(in.Items))
	for i := range in.Items {
		out[i] = &in.Items[i]
	}
	return out
}

func init() {
	SchemeBuilder.Register(&HelmChart{}, &HelmChartList{})
}
