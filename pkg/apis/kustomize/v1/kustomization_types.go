package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// KustomizationKind is the kind of a Kustomization.
const KustomizationKind = "Kustomization"

// Labels put on every object a Kustomization applies: they tell users and
// `tether trace` which Kustomization manages it, and guard pruning against
// deleting an object another Kustomization has taken over.
const (
	NameLabel      = "kustomize.tether.dev/name"
	NamespaceLabel = "kustomize.tether.dev/namespace"
)

// OwnerLabels returns the labels that mark an object as applied by in.
func (in *Kustomization) OwnerLabels() map[string]string {
	return map[string]string{NameLabel: in.Name, NamespaceLabel: in.Namespace}
}

// Deletion policies of a Kustomization.
const (
	// DeletionPolicyMirrorPrune deletes the applied objects when the
	// Kustomization is deleted if, and only if, spec.prune is true.
	DeletionPolicyMirrorPrune = "MirrorPrune"
	// DeletionPolicyDelete deletes the applied objects when the Kustomization
	// is deleted.
	DeletionPolicyDelete = "Delete"
	// DeletionPolicyWaitForTermination deletes the applied objects and waits
	// until they are gone before the Kustomization is.
	DeletionPolicyWaitForTermination = "WaitForTermination"
	// DeletionPolicyOrphan leaves the applied objects in the cluster.
	DeletionPolicyOrphan = "Orphan"
)

// DecryptionProviderSOPS decrypts SOPS-encrypted manifests.
const DecryptionProviderSOPS = "sops"

// KustomizationSpec says what to build, from which source, and how to apply
// it.
type KustomizationSpec struct {
	// SourceRef names the source whose Artifact holds the manifests: a
	// GitRepository, OCIRepository or Bucket.
	// +kubebuilder:validation:XValidation:rule="self.kind in ['GitRepository', 'OCIRepository', 'Bucket']",message="sourceRef.kind must be GitRepository, OCIRepository or Bucket"
	// +required
	SourceRef meta.CrossNamespaceSourceReference `json:"sourceRef"`

	// Path, in the Artifact, of the directory to build. When it holds no
	// kustomization.yaml, one listing all its manifests is generated.
	// Defaults to the root of the Artifact.
	// +optional
	Path string `json:"path,omitempty"`

	// Prune deletes the objects applied before and no longer in the build.
	// +required
	Prune bool `json:"prune"`

	// PruneLimit refuses to prune more than a share of the inventory in one
	// reconcile, so that a bad commit (an emptied directory, a wrong path)
	// cannot wipe what the Kustomization manages. Without it there is no limit.
	// +optional
	PruneLimit *PruneLimit `json:"pruneLimit,omitempty"`

	// Wait waits for all applied objects to be ready; healthChecks are then
	// ignored.
	// +optional
	Wait bool `json:"wait,omitempty"`

	// HealthChecks lists the objects whose readiness is the Kustomization's
	// health.
	// +optional
	HealthChecks []meta.NamespacedObjectKindReference `json:"healthChecks,omitempty"`

	// HealthCheckExprs tells how to assess the health of custom resources,
	// with CEL expressions.
	// +optional
	HealthCheckExprs []CustomHealthCheck `json:"healthCheckExprs,omitempty"`

	// DependsOn lists the Kustomizations and HelmReleases that must be Ready
	// before this Kustomization is applied. An entry without kind names a
	// Kustomization.
	// +optional
	DependsOn []meta.DependencyReference `json:"dependsOn,omitempty"`

	// ServiceAccountName names the ServiceAccount, in the Kustomization's
	// namespace, to impersonate when applying.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// TargetNamespace sets the namespace of all namespaced objects of the
	// build, overriding that of the kustomization.yaml.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	TargetNamespace string `json:"targetNamespace,omitempty"`

	// NamePrefix is prepended to the names of all objects of the build.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	// +optional
	NamePrefix string `json:"namePrefix,omitempty"`

	// NameSuffix is appended to the names of all objects of the build.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	// +optional
	NameSuffix string `json:"nameSuffix,omitempty"`

	// CommonMetadata adds labels and annotations to all objects of the build,
	// overriding those with the same key.
	// +optional
	CommonMetadata *CommonMetadata `json:"commonMetadata,omitempty"`

	// Patches to apply to the build: strategic-merge or JSON 6902.
	// +optional
	Patches []meta.Patch `json:"patches,omitempty"`

	// Images rewrites container image names, tags or digests in the build.
	// +optional
	Images []meta.Image `json:"images,omitempty"`

	// Components are paths, relative to path, of kustomize Components to
	// include.
	// +optional
	Components []string `json:"components,omitempty"`

	// PostBuild substitutes variables in the build.
	// +optional
	PostBuild *PostBuild `json:"postBuild,omitempty"`

	// Decryption decrypts encrypted Secrets of the build before applying.
	// +optional
	Decryption *Decryption `json:"decryption,omitempty"`

	// Force recreates objects whose update fails because an immutable field
	// changed.
	// +kubebuilder:default:=false
	// +optional
	Force bool `json:"force,omitempty"`

	// Interval between two reconciliations. Defaults to 1m.
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// RetryInterval between attempts after a failed reconciliation. Defaults
	// to the interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	RetryInterval *metav1.Duration `json:"retryInterval,omitempty"`

	// Timeout of the build, apply and health checks. Defaults to the
	// interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Suspend stops the reconciliation of this Kustomization until it is set
	// to false again.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// KubeConfig applies to another cluster, with the kubeconfig in a Secret.
	// With serviceAccountName, that ServiceAccount is impersonated in the
	// other cluster.
	// +optional
	KubeConfig *meta.KubeConfigReference `json:"kubeConfig,omitempty"`

	// DeletionPolicy says what happens to the applied objects when the
	// Kustomization is deleted: MirrorPrune (the default: delete them when
	// prune is true), Delete, WaitForTermination (delete and wait) or Orphan.
	// +kubebuilder:validation:Enum=MirrorPrune;Delete;WaitForTermination;Orphan
	// +optional
	DeletionPolicy string `json:"deletionPolicy,omitempty"`
}

// PruneLimit bounds how much one reconcile may prune.
type PruneLimit struct {
	// Percent of the objects in the inventory that one reconcile may delete.
	// A reconcile that would delete more deletes nothing and reports
	// PruneLimitExceeded; raise the limit (or remove it) to let it through.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +required
	Percent int32 `json:"percent"`
}

// PruneLimitExceededReason means a reconcile would have pruned more objects
// than spec.pruneLimit allows, and pruned none.
const PruneLimitExceededReason = "PruneLimitExceeded"

// CustomHealthCheck assesses the health of objects of one kind with CEL
// expressions evaluated against the object.
type CustomHealthCheck struct {
	// APIVersion of the kind, e.g. example.com/v1.
	// +kubebuilder:validation:MinLength=1
	// +required
	APIVersion string `json:"apiVersion"`

	// Kind of the objects.
	// +kubebuilder:validation:MinLength=1
	// +required
	Kind string `json:"kind"`

	// Current is true when the object is healthy.
	// +kubebuilder:validation:MinLength=1
	// +required
	Current string `json:"current"`

	// InProgress is true while the object is progressing towards health.
	// +optional
	InProgress string `json:"inProgress,omitempty"`

	// Failed is true when the object has failed.
	// +optional
	Failed string `json:"failed,omitempty"`
}

// CommonMetadata holds labels and annotations added to all objects.
type CommonMetadata struct {
	// Labels to add.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Annotations to add.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// PostBuild substitutes ${var} references in the build.
type PostBuild struct {
	// Substitute maps variable names to values. Bash-like defaults and
	// replacements are supported, e.g. ${var:=default}.
	// +optional
	Substitute map[string]string `json:"substitute,omitempty"`

	// SubstituteFrom names ConfigMaps and Secrets, in the Kustomization's
	// namespace, whose data are further variables. Later entries and
	// substitute win.
	// +optional
	SubstituteFrom []SubstituteReference `json:"substituteFrom,omitempty"`
}

// SubstituteReference names a ConfigMap or Secret holding variables.
type SubstituteReference struct {
	// Kind of the object: ConfigMap or Secret.
	// +kubebuilder:validation:Enum=Secret;ConfigMap
	// +required
	Kind string `json:"kind"`

	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Optional tolerates a missing object, as if it were empty.
	// +kubebuilder:default:=false
	// +optional
	Optional bool `json:"optional,omitempty"`
}

// Decryption configures the decryption of encrypted manifests.
type Decryption struct {
	// Provider of the encryption; only sops is supported.
	// +kubebuilder:validation:Enum=sops
	// +required
	Provider string `json:"provider"`

	// SecretRef names a Secret with the decryption keys (age, PGP, or cloud
	// KMS credentials). Without it, only keys the controller can reach
	// through its own identity are used.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`
}

// ResourceInventory lists the objects a Kustomization applied.
type ResourceInventory struct {
	// Entries are the applied objects.
	// +required
	Entries []ResourceRef `json:"entries"`
}

// ResourceRef identifies an applied object.
type ResourceRef struct {
	// ID is "<namespace>_<name>_<group>_<kind>".
	// +required
	ID string `json:"id"`

	// Version is the API version the object was applied with.
	// +required
	Version string `json:"v"`
}

// KustomizationStatus is the observed state of a Kustomization.
type KustomizationStatus struct {
	// ObservedGeneration is the generation of the spec last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions of the Kustomization.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// LastAppliedRevision is the source revision last applied successfully.
	// +optional
	LastAppliedRevision string `json:"lastAppliedRevision,omitempty"`

	// LastAttemptedRevision is the source revision of the last attempt.
	// +optional
	LastAttemptedRevision string `json:"lastAttemptedRevision,omitempty"`

	// Inventory lists the objects applied, for pruning.
	// +optional
	Inventory *ResourceInventory `json:"inventory,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=ks,categories=tether
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Revision",type="string",JSONPath=".status.lastAppliedRevision"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Source Kind",type="string",JSONPath=".spec.sourceRef.kind",priority=1
// +kubebuilder:printcolumn:name="Source Name",type="string",JSONPath=".spec.sourceRef.name",priority=1
// +kubebuilder:printcolumn:name="Path",type="string",JSONPath=".spec.path",priority=1
// +kubebuilder:printcolumn:name="Suspended",type="boolean",JSONPath=".spec.suspend",priority=1

// Kustomization builds the manifests of a source with kustomize and applies
// them, pruning what it applied before and no longer builds.
type Kustomization struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	// +required
	Spec KustomizationSpec `json:"spec"`

	// Status is the observed state.
	// +kubebuilder:default={"observedGeneration":-1}
	// +optional
	Status KustomizationStatus `json:"status,omitempty"`
}

// GetRetryInterval returns spec.retryInterval, or the interval.
func (in *Kustomization) GetRetryInterval() time.Duration {
	return meta.DurationOr(in.Spec.RetryInterval, in.GetInterval())
}

// GetDependsOn returns spec.dependsOn.
func (in *Kustomization) GetDependsOn() []meta.DependencyReference { return in.Spec.DependsOn }

// GetDeletionPolicy returns spec.deletionPolicy, or MirrorPrune.
func (in *Kustomization) GetDeletionPolicy() string {
	if in.Spec.DeletionPolicy == "" {
		return DeletionPolicyMirrorPrune
	}
	return in.Spec.DeletionPolicy
}

// GetConditions returns status.conditions.
func (in *Kustomization) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions sets status.conditions.
func (in *Kustomization) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// IsSuspended reports whether spec.suspend is true.
func (in *Kustomization) IsSuspended() bool { return in.Spec.Suspend }

// SetSuspended sets spec.suspend.
func (in *Kustomization) SetSuspended(s bool) { in.Spec.Suspend = s }

// GetInterval returns spec.interval, or meta.DefaultInterval.
func (in *Kustomization) GetInterval() time.Duration { return meta.IntervalOrDefault(in.Spec.Interval) }

// GetTimeout returns spec.timeout, or the interval.
func (in *Kustomization) GetTimeout() time.Duration {
	return meta.DurationOr(in.Spec.Timeout, in.GetInterval())
}

// GetRequeueAfter returns the interval.
func (in *Kustomization) GetRequeueAfter() time.Duration { return in.GetInterval() }

// GetLastHandledReconcileRequest returns status.lastHandledReconcileAt.
func (in *Kustomization) GetLastHandledReconcileRequest() string {
	return in.Status.LastHandledReconcileAt
}

// SetLastHandledReconcileRequest sets status.lastHandledReconcileAt.
func (in *Kustomization) SetLastHandledReconcileRequest(v string) {
	in.Status.LastHandledReconcileAt = v
}

// GetObservedGeneration returns status.observedGeneration.
func (in *Kustomization) GetObservedGeneration() int64 { return in.Status.ObservedGeneration }

// SetObservedGeneration sets status.observedGeneration.
func (in *Kustomization) SetObservedGeneration(g int64) { in.Status.ObservedGeneration = g }

// +kubebuilder:object:root=true

// KustomizationList is a list of Kustomizations.
type KustomizationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Kustomization `json:"items"`
}

// GetItems returns pointers to the items.
func (in *KustomizationList) GetItems() []meta.Reconcilable {
	out := make([]meta.Reconcilable, len(in.Items))
	for i := range in.Items {
		out[i] = &in.Items[i]
	}
	return out
}

func init() {
	SchemeBuilder.Register(&Kustomization{}, &KustomizationList{})
}
