package v1

import "github.com/tether-gitops/tether/pkg/apis/meta"

// Kinds of this group.
const (
	GitRepositoryKind  = "GitRepository"
	HelmRepositoryKind = "HelmRepository"
	HelmChartKind      = "HelmChart"
	BucketKind         = "Bucket"
	OCIRepositoryKind  = "OCIRepository"
)

// Reasons specific to sources, in addition to those of package meta.
const (
	// GitOperationFailedReason means a Git clone, fetch or checkout failed.
	GitOperationFailedReason string = "GitOperationFailed"
	// IndexationFailedReason means a Helm repository index could not be
	// fetched or parsed.
	IndexationFailedReason string = "IndexationFailed"
	// ChartPullFailedReason means a Helm chart could not be downloaded.
	ChartPullFailedReason string = "ChartPullFailed"
	// ChartPackageFailedReason means a Helm chart could not be packaged from a
	// Git repository or bucket.
	ChartPackageFailedReason string = "ChartPackageFailed"
	// BucketOperationFailedReason means listing or downloading bucket objects
	// failed.
	BucketOperationFailedReason string = "BucketOperationFailed"
	// OCIPullFailedReason means pulling an OCI artifact failed.
	OCIPullFailedReason string = "OCIArtifactPullFailed"
	// OCILayerOperationFailedReason means extracting or copying an OCI layer
	// failed.
	OCILayerOperationFailedReason string = "OCIArtifactLayerOperationFailed"
)

// Cloud providers used for authentication.
const (
	GenericProvider = "generic"
	AmazonProvider  = "aws"
	GoogleProvider  = "gcp"
	AzureProvider   = "azure"
)

// OCIRepositoryVerification configures the verification of OCI artifact
// signatures.
type OCIRepositoryVerification struct {
	// Provider is the signing technology.
	// +kubebuilder:validation:Enum=cosign;notation
	// +kubebuilder:default:=cosign
	// +required
	Provider string `json:"provider"`

	// SecretRef names a Secret holding the trusted public keys (cosign) or
	// certificates and trust policy (notation). Without it, cosign keyless
	// verification is used.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// MatchOIDCIdentity lists the OIDC identities accepted for cosign keyless
	// verification; a signature is accepted when it matches any of them.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	MatchOIDCIdentity []OIDCIdentityMatch `json:"matchOIDCIdentity,omitempty"`
}

// OIDCIdentityMatch is a pair of regular expressions matched against the
// issuer and subject of a keyless signing certificate.
type OIDCIdentityMatch struct {
	// Issuer is a regular expression matched against the OIDC issuer.
	// +required
	Issuer string `json:"issuer"`

	// Subject is a regular expression matched against the identity subject.
	// +required
	Subject string `json:"subject"`
}

// NewKustomizationSource returns an empty object of kind to read a
// Kustomization's source into, when kind is one a Kustomization builds from:
// GitRepository, OCIRepository or Bucket.
func NewKustomizationSource(kind string) (meta.Source, bool) {
	switch kind {
	case GitRepositoryKind:
		return &GitRepository{}, true
	case OCIRepositoryKind:
		return &OCIRepository{}, true
	case BucketKind:
		return &Bucket{}, true
	}
	return nil, false
}
