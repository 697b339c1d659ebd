package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// IncludeUnavailableCondition is True when an included GitRepository is missing
// or has no Artifact. It is an abnormal-true condition.
const IncludeUnavailableCondition string = "IncludeUnavailable"

// GitVerificationMode says which Git objects to verify the signature of.
type GitVerificationMode string

const (
	// ModeGitHEAD verifies the commit that was checked out.
	ModeGitHEAD GitVerificationMode = "HEAD"
	// ModeGitTag verifies the tag object that was checked out.
	ModeGitTag GitVerificationMode = "Tag"
	// ModeGitTagAndHEAD verifies both the tag object and its commit.
	ModeGitTagAndHEAD GitVerificationMode = "TagAndHEAD"
)

// GitRepositorySpec says which Git repository and reference to fetch.
type GitRepositorySpec struct {
	// URL of the repository: http://, https:// or ssh://.
	// +kubebuilder:validation:Pattern="^(http|https|ssh)://.*$"
	// +kubebuilder:validation:MaxLength=2048
	// +required
	URL string `json:"url"`

	// SecretRef names a Secret with credentials: "username" and "password"
	// or "bearerToken" for HTTPS; "identity" and "known_hosts" for SSH;
	// optionally "ca.crt" for a private certificate authority.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// Interval between two checks of the repository for new commits.
	// Defaults to 1m.
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Timeout of Git operations such as clone. Defaults to the interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Reference to check out. Defaults to the "master" branch.
	// +optional
	Reference *GitRepositoryRef `json:"ref,omitempty"`

	// Verification of commit or tag signatures.
	// +optional
	Verification *GitRepositoryVerification `json:"verify,omitempty"`

	// ProxySecretRef names a Secret with the proxy to use: "address", and
	// optionally "username" and "password".
	// +optional
	ProxySecretRef *meta.LocalObjectReference `json:"proxySecretRef,omitempty"`

	// Ignore lists paths to leave out of the Artifact, in .gitignore format.
	// It replaces the default list (which leaves out .git and CI files).
	// +optional
	Ignore *string `json:"ignore,omitempty"`

	// Suspend stops the reconciliation of this GitRepository until it is set
	// to false again.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// RecurseSubmodules clones the repository's submodules too.
	// +optional
	RecurseSubmodules bool `json:"recurseSubmodules,omitempty"`

	// Include copies the Artifacts of other GitRepositories (in the same
	// namespace) into this one's.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Include []GitRepositoryInclude `json:"include,omitempty"`
}

// GitRepositoryInclude copies (part of) another GitRepository's Artifact into
// this one's.
type GitRepositoryInclude struct {
	// GitRepositoryRef names the GitRepository to include.
	// +required
	GitRepositoryRef meta.LocalObjectReference `json:"repository"`

	// FromPath is the directory of the included Artifact to copy. Defaults to
	// its root.
	// +optional
	FromPath string `json:"fromPath,omitempty"`

	// ToPath is the directory to copy it to. Defaults to the name of the
	// included GitRepository.
	// +optional
	ToPath string `json:"toPath,omitempty"`
}

// GetFromPath returns FromPath.
func (in *GitRepositoryInclude) GetFromPath() string {
	return in.FromPath
}

// GetToPath returns ToPath, or the name of the included GitRepository.
func (in *GitRepositoryInclude) GetToPath() string {
	if in.ToPath == "" {
		return in.GitRepositoryRef.Name
	}
	return in.ToPath
}

// GitRepositoryRef is the Git reference to check out. At most one of tag,
// semver and name may be set; commit may be combined with branch only, to
// fetch the commit from that branch.
// +kubebuilder:validation:XValidation:rule="(has(self.tag) ? 1 : 0) + (has(self.semver) ? 1 : 0) + (has(self.name) ? 1 : 0) <= 1",message="at most one of tag, semver and name may be set"
// +kubebuilder:validation:XValidation:rule="!has(self.commit) || !(has(self.tag) || has(self.semver) || has(self.name))",message="commit can only be combined with branch"
type GitRepositoryRef struct {
	// Branch to check out. Defaults to "master" when nothing else is set.
	// +optional
	Branch string `json:"branch,omitempty"`

	// Tag to check out; takes precedence over branch.
	// +optional
	Tag string `json:"tag,omitempty"`

	// SemVer is a semantic version range; the highest matching tag is checked
	// out.
	// +optional
	SemVer string `json:"semver,omitempty"`

	// Name is a full reference to check out, e.g. refs/heads/main or
	// refs/pull/42/head.
	// +optional
	Name string `json:"name,omitempty"`

	// Commit SHA to check out; with branch, the commit is fetched from that
	// branch.
	// +optional
	Commit string `json:"commit,omitempty"`
}

// GitRepositoryVerification configures signature verification of the
// checked-out commit or tag.
type GitRepositoryVerification struct {
	// Mode says what to verify: HEAD (the commit), Tag (the tag object) or
	// TagAndHEAD (both). "head" is accepted for HEAD.
	// +kubebuilder:validation:Enum=head;HEAD;Tag;TagAndHEAD
	// +kubebuilder:default:=HEAD
	// +optional
	Mode GitVerificationMode `json:"mode,omitempty"`

	// SecretRef names a Secret whose values are the trusted PGP public keys.
	// +required
	SecretRef meta.LocalObjectReference `json:"secretRef"`
}

// GetMode returns the verification mode, HEAD when unset.
func (in *GitRepositoryVerification) GetMode() GitVerificationMode {
	switch in.Mode {
	case ModeGitTag, ModeGitTagAndHEAD:
		return in.Mode
	default:
		return ModeGitHEAD
	}
}

// VerifyHEAD reports whether the checked-out commit must be verified.
func (in *GitRepositoryVerification) VerifyHEAD() bool {
	m := in.GetMode()
	return m == ModeGitHEAD || m == ModeGitTagAndHEAD
}

// VerifyTag reports whether the checked-out tag object must be verified.
func (in *GitRepositoryVerification) VerifyTag() bool {
	m := in.GetMode()
	return m == ModeGitTag || m == ModeGitTagAndHEAD
}

// GitRepositoryStatus is the observed state of a GitRepository.
type GitRepositoryStatus struct {
	// ObservedGeneration is the generation of the spec last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions of the GitRepository.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Artifact is the last Artifact produced.
	// +optional
	Artifact *meta.Artifact `json:"artifact,omitempty"`

	// IncludedArtifacts are the Artifacts of spec.include used for Artifact.
	// +optional
	IncludedArtifacts []*meta.Artifact `json:"includedArtifacts,omitempty"`

	// ObservedIgnore is the spec.ignore used for Artifact.
	// +optional
	ObservedIgnore *string `json:"observedIgnore,omitempty"`

	// ObservedRecurseSubmodules is the spec.recurseSubmodules used for
	// Artifact.
	// +optional
	ObservedRecurseSubmodules bool `json:"observedRecurseSubmodules,omitempty"`

	// ObservedInclude is the spec.include used for Artifact.
	// +optional
	ObservedInclude []GitRepositoryInclude `json:"observedInclude,omitempty"`

	// SourceVerificationMode is the verification mode used for Artifact.
	// +optional
	SourceVerificationMode *GitVerificationMode `json:"sourceVerificationMode,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=gitrepo,categories=tether
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Revision",type="string",JSONPath=".status.artifact.revision"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="URL",type="string",JSONPath=".spec.url",priority=1
// +kubebuilder:printcolumn:name="Suspended",type="boolean",JSONPath=".spec.suspend",priority=1

// GitRepository fetches a Git repository at a reference and publishes its
// content as an Artifact.
type GitRepository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	// +required
	Spec GitRepositorySpec `json:"spec"`

	// Status is the observed state.
	// +kubebuilder:default={"observedGeneration":-1}
	// +optional
	Status GitRepositoryStatus `json:"status,omitempty"`
}

// GetConditions returns status.conditions.
func (in *GitRepository) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions sets status.conditions.
func (in *GitRepository) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// IsSuspended reports whether spec.suspend is true.
func (in *GitRepository) IsSuspended() bool { return in.Spec.Suspend }

// SetSuspended sets spec.suspend.
func (in *GitRepository) SetSuspended(s bool) { in.Spec.Suspend = s }

// GetInterval returns spec.interval, or meta.DefaultInterval.
func (in *GitRepository) GetInterval() time.Duration { return meta.IntervalOrDefault(in.Spec.Interval) }

// GetTimeout returns spec.timeout, or the interval.
func (in *GitRepository) GetTimeout() time.Duration {
	return meta.DurationOr(in.Spec.Timeout, in.GetInterval())
}

// GetRequeueAfter returns the interval.
func (in *GitRepository) GetRequeueAfter() time.Duration { return in.GetInterval() }

// GetLastHandledReconcileRequest returns status.lastHandledReconcileAt.
func (in *GitRepository) GetLastHandledReconcileRequest() string {
	return in.Status.LastHandledReconcileAt
}

// SetLastHandledReconcileRequest sets status.lastHandledReconcileAt.
func (in *GitRepository) SetLastHandledReconcileRequest(v string) {
	in.Status.LastHandledReconcileAt = v
}

// GetObservedGeneration returns status.observedGeneration.
func (in *GitRepository) GetObservedGeneration() int64 { return in.Status.ObservedGeneration }

// SetObservedGeneration sets status.observedGeneration.
func (in *GitRepository) SetObservedGeneration(g int64) { in.Status.ObservedGeneration = g }

// GetArtifact returns status.artifact.
func (in *GitRepository) GetArtifact() *meta.Artifact { return in.Status.Artifact }

// GetReference returns spec.ref, or a reference to the "master" branch.
func (in *GitRepository) GetReference() GitRepositoryRef {
	if in.Spec.Reference == nil {
		return GitRepositoryRef{Branch: "master"}
	}
	return *in.Spec.Reference
}

// +kubebuilder:object:root=true

// GitRepositoryList is a list of GitRepositories.
type GitRepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GitRepository `json:"items"`
}

// GetItems returns pointers to the items.
func (in *GitRepositoryList) GetItems() []meta.Reconcilable {
	out := make([]meta.Reconcilable, len(in.Items))
	for i := range in.Items {
		out[i] = &in.Items[i]
	}
	return out
}

func init() {
	SchemeBuilder.Register(&GitRepository{}, &GitRepositoryList{})
}
