package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// STS providers of a Bucket.
const (
	// STSProviderAmazon uses AWS STS (with the aws bucket provider).
	STSProviderAmazon = "aws"
	// STSProviderLDAP uses MinIO's LDAP STS (with the generic bucket provider).
	STSProviderLDAP = "ldap"
)

// BucketSpec says which object storage bucket to fetch.
// +kubebuilder:validation:XValidation:rule="has(self.endpoint) || (has(self.provider) && self.provider != 'generic')",message="endpoint is required for the generic provider"
// +kubebuilder:validation:XValidation:rule="!has(self.sts) || !has(self.provider) || self.provider == 'aws' || self.provider == 'generic'",message="sts is only supported by the aws and generic providers"
// +kubebuilder:validation:XValidation:rule="!has(self.sts) || self.sts.provider != 'aws' || (has(self.provider) && self.provider == 'aws')",message="the aws STS provider requires the aws bucket provider"
// +kubebuilder:validation:XValidation:rule="!has(self.sts) || self.sts.provider != 'ldap' || !has(self.provider) || self.provider == 'generic'",message="the ldap STS provider requires the generic bucket provider"
// +kubebuilder:validation:XValidation:rule="!has(self.sts) || self.sts.provider != 'aws' || (!has(self.sts.secretRef) && !has(self.sts.certSecretRef))",message="the aws STS provider takes neither secretRef nor certSecretRef"
type BucketSpec struct {
	// Provider of the object storage: generic (any S3-compatible API with
	// static credentials), aws, gcp or azure (which may use the workload
	// identity of the cloud).
	// +kubebuilder:validation:Enum=generic;aws;gcp;azure
	// +kubebuilder:default:=generic
	// +optional
	Provider string `json:"provider,omitempty"`

	// BucketName is the name of the bucket.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +required
	BucketName string `json:"bucketName"`

	// Endpoint is the host[:port] of the object storage API. Required for the
	// generic provider.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	Endpoint string `json:"endpoint,omitempty"`

	// STS configures a security token service to obtain temporary
	// credentials.
	// +optional
	STS *BucketSTSSpec `json:"sts,omitempty"`

	// Insecure allows plain-HTTP connections to the endpoint.
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// Region of the bucket, when the provider needs one.
	// +optional
	Region string `json:"region,omitempty"`

	// Prefix restricts the download to objects whose key starts with it.
	// +optional
	Prefix string `json:"prefix,omitempty"`

	// SecretRef names a Secret with credentials, e.g. "accesskey" and
	// "secretkey" for generic and aws.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// CertSecretRef names a Secret with TLS data: "ca.crt" to trust a private
	// certificate authority, "tls.crt" and "tls.key" for a client certificate.
	// Only used by the generic provider.
	// +optional
	CertSecretRef *meta.LocalObjectReference `json:"certSecretRef,omitempty"`

	// ProxySecretRef names a Secret with the proxy to use: "address", and
	// optionally "username" and "password".
	// +optional
	ProxySecretRef *meta.LocalObjectReference `json:"proxySecretRef,omitempty"`

	// Interval between two checks of the bucket for changes. Defaults to 1m.
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Timeout of bucket operations. Defaults to the interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Ignore lists object keys to leave out of the Artifact, in .gitignore
	// format.
	// +optional
	Ignore *string `json:"ignore,omitempty"`

	// Suspend stops the reconciliation of this Bucket until it is set to false
	// again.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// BucketSTSSpec configures a security token service that issues temporary
// credentials for the bucket.
type BucketSTSSpec struct {
	// Provider of the STS: aws (with the aws bucket provider) or ldap (with
	// the generic bucket provider).
	// +kubebuilder:validation:Enum=aws;ldap
	// +required
	Provider string `json:"provider"`

	// Endpoint is the HTTP(S) URL of the STS.
	// +kubebuilder:validation:Pattern="^(http|https)://.*$"
	// +required
	Endpoint string `json:"endpoint"`

	// SecretRef names a Secret with the STS credentials ("username" and
	// "password" for ldap).
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// CertSecretRef names a Secret with TLS data for the STS endpoint.
	// +optional
	CertSecretRef *meta.LocalObjectReference `json:"certSecretRef,omitempty"`
}

// BucketStatus is the observed state of a Bucket.
type BucketStatus struct {
	// ObservedGeneration is the generation of the spec last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions of the Bucket.
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

	meta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=tether
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Revision",type="string",JSONPath=".status.artifact.revision"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Endpoint",type="string",JSONPath=".spec.endpoint",priority=1
// +kubebuilder:printcolumn:name="Bucket",type="string",JSONPath=".spec.bucketName",priority=1
// +kubebuilder:printcolumn:name="Suspended",type="boolean",JSONPath=".spec.suspend",priority=1

// Bucket fetches the objects of an object storage bucket and publishes them
// as an Artifact.
type Bucket struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	// +required
	Spec BucketSpec `json:"spec"`

	// Status is the observed state.
	// +kubebuilder:default={"observedGeneration":-1}
	// +optional
	Status BucketStatus `json:"status,omitempty"`
}

// GetProvider returns spec.provider, or generic.
func (in *Bucket) GetProvider() string {
	if in.Spec.Provider == "" {
		return GenericProvider
	}
	return in.Spec.Provider
}

// GetConditions returns status.conditions.
func (in *Bucket) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions sets status.conditions.
func (in *Bucket) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// IsSuspended reports whether spec.suspend is true.
func (in *Bucket) IsSuspended() bool { return in.Spec.Suspend }

// SetSuspended sets spec.suspend.
func (in *Bucket) SetSuspended(s bool) { in.Spec.Suspend = s }

// GetInterval returns spec.interval, or meta.DefaultInterval.
func (in *Bucket) GetInterval() time.Duration { return meta.IntervalOrDefault(in.Spec.Interval) }

// GetTimeout returns spec.timeout, or the interval.
func (in *Bucket) GetTimeout() time.Duration {
	return meta.DurationOr(in.Spec.Timeout, in.GetInterval())
}

// GetRequeueAfter returns the interval.
func (in *Bucket) GetRequeueAfter() time.Duration { return in.GetInterval() }

// GetLastHandledReconcileRequest returns status.lastHandledReconcileAt.
func (in *Bucket) GetLastHandledReconcileRequest() string {
	return in.Status.LastHandledReconcileAt
}

// SetLastHandledReconcileRequest sets status.lastHandledReconcileAt.
func (in *Bucket) SetLastHandledReconcileRequest(v string) {
	in.Status.LastHandledReconcileAt = v
}

// GetObservedGeneration returns status.observedGeneration.
func (in *Bucket) GetObservedGeneration() int64 { return in.Status.ObservedGeneration }

// SetObservedGeneration sets status.observedGeneration.
func (in *Bucket) SetObservedGeneration(g int64) { in.Status.ObservedGeneration = g }

// GetArtifact returns status.artifact.
func (in *Bucket) GetArtifact() *meta.Artifact { return in.Status.Artifact }

// +kubebuilder:object:root=true

// BucketList is a list of Buckets.
type BucketList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Bucket `json:"items"`
}

// GetItems returns pointers to the items.
func (in *BucketList) GetItems() []meta.Reconcilable {
	out := make([]meta.Reconcilable, len(in.Items))
	for i := range in.Items {
		out[i] = &in.Items[i]
	}
	return out
}

func init() {
	SchemeBuilder.Register(&Bucket{}, &BucketList{})
}
