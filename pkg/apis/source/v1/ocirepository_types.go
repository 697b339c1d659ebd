package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// OCI layer operations.
const (
	// OCILayerExtract extracts the selected layer (a tarball) into the
	// Artifact.
	OCILayerExtract = "extract"
	// OCILayerCopy stores the selected layer as it is.
	OCILayerCopy = "copy"
)

// OCIRepositorySpec says which OCI artifact to fetch.
type OCIRepositorySpec struct {
	// URL of the OCI repository, oci://<registry>/<repository>, without tag or
	// digest.
	// +kubebuilder:validation:Pattern="^oci://.*$"
	// +kubebuilder:validation:MaxLength=2048
	// +required
	URL string `json:"url"`

	// Reference to pull. Defaults to the "latest" tag.
	// +optional
	Reference *OCIRepositoryRef `json:"ref,omitempty"`

	// LayerSelector picks the layer of the artifact to use. Defaults to the
	// first layer, extracted.
	// +optional
	LayerSelector *OCILayerSelector `json:"layerSelector,omitempty"`

	// Provider used to authenticate with the workload identity of the cloud:
	// generic (use secretRef or serviceAccountName), aws, azure or gcp.
	// +kubebuilder:validation:Enum=generic;aws;azure;gcp
	// +kubebuilder:default:=generic
	// +optional
	Provider string `json:"provider,omitempty"`

	// SecretRef names a kubernetes.io/dockerconfigjson Secret with registry
	// credentials.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// Verify checks the artifact's signature.
	// +optional
	Verify *OCIRepositoryVerification `json:"verify,omitempty"`

	// ServiceAccountName names a ServiceAccount, in the same namespace, whose
	// image pull secrets are used as registry credentials.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// CertSecretRef names a Secret with TLS data: "ca.crt" to trust a private
	// certificate authority, "tls.crt" and "tls.key" for a client certificate.
	// +optional
	CertSecretRef *meta.LocalObjectReference `json:"certSecretRef,omitempty"`

	// ProxySecretRef names a Secret with the proxy to use: "address", and
	// optionally "username" and "password".
	// +optional
	ProxySecretRef *meta.LocalObjectReference `json:"proxySecretRef,omitempty"`

	// Insecure allows plain-HTTP connections to the registry.
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// Interval between two checks of the registry for a new artifact.
	// Defaults to 1m.
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Timeout of registry operations such as pulls. Defaults to the interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Ignore lists paths to leave out of the Artifact, in .gitignore format.
	// +optional
	Ignore *string `json:"ignore,omitempty"`

	// Suspend stops the reconciliation of this OCIRepository until it is set
	// to false again.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// OCIRepositoryRef is the OCI reference to pull. At most one of digest,
// semver and tag may be set.
// +kubebuilder:validation:XValidation:rule="(has(self.digest) ? 1 : 0) + (has(self.semver) ? 1 : 0) + (has(self.tag) ? 1 : 0) <= 1",message="at most one of digest, semver and tag may be set"
// +kubebuilder:validation:XValidation:rule="!has(self.semverFilter) || has(self.semver)",message="semverFilter requires semver"
type OCIRepositoryRef struct {
	// Digest to pull, "sha256:<hex>".
	// +optional
	Digest string `json:"digest,omitempty"`

	// SemVer is a semantic version range; the highest matching tag is pulled.
	// +optional
	SemVer string `json:"semver,omitempty"`

	// SemverFilter is a regular expression that tags must match to be
	// considered for semver.
	// +optional
	SemverFilter string `json:"semverFilter,omitempty"`

	// Tag to pull.
	// +optional
	Tag string `json:"tag,omitempty"`
}

// OCILayerSelector picks a layer of an OCI artifact.
type OCILayerSelector struct {
	// MediaType of the layer; the first layer with it is used.
	// +optional
	MediaType string `json:"mediaType,omitempty"`

	// Operation on the layer: extract (the default) unpacks a tarball into
	// the Artifact, copy stores the layer as it is.
	// +kubebuilder:validation:Enum=extract;copy
	// +optional
	Operation string `json:"operation,omitempty"`
}

// OCIRepositoryStatus is the observed state of an OCIRepository.
type OCIRepositoryStatus struct {
	// ObservedGeneration is the generation of the spec last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions of the OCIRepository.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// URL the Artifact can be downloaded from inside the cluster.
	// +optional
	URL string `json:"url,omitempty"`

	// Artifact is the last Artifact produced.
	// +optional
	Artifact *meta.Artifact `json:"artifact,omitempty"`

	// ObservedIgnore is the spec.ignore used for Artifact.
	// +optional
	ObservedIgnore *string `json:"observedIgnore,omitempty"`

	// ObservedLayerSelector is the spec.layerSelector used for Artifact.
	// +optional
	ObservedLayerSelector *OCILayerSelector `json:"observedLayerSelector,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=ocirepo,categories=tether
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Revision",type="string",JSONPath=".status.artifact.revision"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="URL",type="string",JSONPath=".spec.url",priority=1
// +kubebuilder:printcolumn:name="Suspended",type="boolean",JSONPath=".spec.suspend",priority=1

// OCIRepository fetches an artifact from an OCI registry and publishes (a
// layer of) it as an Artifact.
type OCIRepository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	// +required
	Spec OCIRepositorySpec `json:"spec"`

	// Status is the observed state.
	// +kubebuilder:default={"observedGeneration":-1}
	// +optional
	Status OCIRepositoryStatus `json:"status,omitempty"`
}

// GetLayerMediaType returns spec.layerSelector.mediaType, or "".
func (in *OCIRepository) GetLayerMediaType() string {
	if in.Spec.LayerSelector == nil {
		return ""
	}
	return in.Spec.LayerSelector.MediaType
}

// GetLayerOperation returns spec.layerSelector.operation, or extract.
func (in *OCIRepository) GetLayerOperation() string {
	if in.Spec.LayerSelector == nil || in.Spec.LayerSelector.Operation == "" {
		return OCILayerExtract
	}
	return in.Spec.LayerSelector.Operation
}

// GetConditions returns status.conditions.
func (in *OCIRepository) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions sets status.conditions.
func (in *OCIRepository) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// IsSuspended reports whether spec.suspend is true.
func (in *OCIRepository) IsSuspended() bool { return in.Spec.Suspend }

// SetSuspended sets spec.suspend.
func (in *OCIRepository) SetSuspended(s bool) { in.Spec.Suspend = s }

// GetInterval returns spec.interval, or meta.DefaultInterval.
func (in *OCIRepository) GetInterval() time.Duration { return meta.IntervalOrDefault(in.Spec.Interval) }

// GetTimeout returns spec.timeout, or the interval.
func (in *OCIRepository) GetTimeout() time.Duration {
	return meta.DurationOr(in.Spec.Timeout, in.GetInterval())
}

// GetRequeueAfter returns the interval.
func (in *OCIRepository) GetRequeueAfter() time.Duration { return in.GetInterval() }

// GetLastHandledReconcileRequest returns status.lastHandledReconcileAt.
func (in *OCIRepository) GetLastHandledReconcileRequest() string {
	return in.Status.LastHandledReconcileAt
}

// SetLastHandledReconcileRequest sets status.lastHandledReconcileAt.
func (in *OCIRepository) SetLastHandledReconcileRequest(v string) {
	in.Status.LastHandledReconcileAt = v
}

// GetObservedGeneration returns status.observedGeneration.
func (in *OCIRepository) GetObservedGeneration() int64 { return in.Status.ObservedGeneration }

// SetObservedGeneration sets status.observedGeneration.
func (in *OCIRepository) SetObservedGeneration(g int64) { in.Status.ObservedGeneration = g }

// GetArtifact returns status.artifact.
func (in *OCIRepository) GetArtifact() *meta.Artifact { return in.Status.Artifact }

// +kubebuilder:object:root=true

// OCIRepositoryList is a list of OCIRepositories.
type OCIRepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []OCIRepository `json:"items"`
}

// GetItems returns pointers to the items.
func (in *OCIRepositoryList) GetItems() []meta.Reconcilable {
	out := make([]meta.Reconcilable, len(in.Items))
	for i := range in.Items {
		out[i] = &in.Items[i]
	}
	return out
}

func init() {
	SchemeBuilder.Register(&OCIRepository{}, &OCIRepositoryList{})
}
