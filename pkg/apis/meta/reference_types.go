package meta

// LocalObjectReference names an object in the namespace of the referrer.
type LocalObjectReference struct {
	// Name of the referent.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// SecretKeyReference names a key of a Secret in the namespace of the referrer.
type SecretKeyReference struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Key in the Secret's data. Each field that uses this type documents its
	// default key.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[\-._a-zA-Z0-9]+$`
	// +optional
	Key string `json:"key,omitempty"`
}

// NamespacedObjectKindReference names an object of any kind, optionally in
// another namespace.
type NamespacedObjectKindReference struct {
	// APIVersion of the referent, e.g. apps/v1. When empty the controller
	// uses the preferred version of the kind's group.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the referent.
	// +kubebuilder:validation:MinLength=1
	// +required
	Kind string `json:"kind"`

	// Name of the referent.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Namespace of the referent; defaults to the namespace of the referrer.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// CrossNamespaceSourceReference names a Tether source, optionally in another
// namespace. The field that uses it restricts which source kinds it accepts.
type CrossNamespaceSourceReference struct {
	// APIVersion of the referent, e.g. source.tether.dev/v1.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the referent.
	// +kubebuilder:validation:Enum=GitRepository;OCIRepository;Bucket;HelmRepository;HelmChart
	// +required
	Kind string `json:"kind"`

	// Name of the referent.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Namespace of the referent; defaults to the namespace of the referrer.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// DependencyReference names a Kustomization or HelmRelease that must be Ready
// before the referrer is reconciled.
type DependencyReference struct {
	// APIVersion of the referent, e.g. kustomize.tether.dev/v1. When empty the
	// controller uses the version it serves for the kind.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the referent. When empty it is the kind of the referrer, so a
	// Flux-style list of names keeps its meaning.
	// +kubebuilder:validation:Enum=Kustomization;HelmRelease
	// +optional
	Kind string `json:"kind,omitempty"`

	// Name of the referent.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Namespace of the referent; defaults to the namespace of the referrer.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// KindOr returns the referenced kind, or referrerKind when Kind is empty.
func (in DependencyReference) KindOr(referrerKind string) string {
	if in.Kind == "" {
		return referrerKind
	}
	return in.Kind
}

// NamespaceOr returns the referenced namespace, or referrerNamespace when
// Namespace is empty.
func (in DependencyReference) NamespaceOr(referrerNamespace string) string {
	if in.Namespace == "" {
		return referrerNamespace
	}
	return in.Namespace
}

// NamespaceOr returns the referenced namespace, or referrerNamespace when
// Namespace is empty.
func (in CrossNamespaceSourceReference) NamespaceOr(referrerNamespace string) string {
	if in.Namespace == "" {
		return referrerNamespace
	}
	return in.Namespace
}

// String returns Kind/[Namespace/]Name.
func (in CrossNamespaceSourceReference) String() string {
	if in.Namespace == "" {
		return in.Kind + "/" + in.Name
	}
	return in.Kind + "/" + in.Namespace + "/" + in.Name
}

// KubeConfigReference points to a kubeconfig used to reconcile on a remote
// cluster instead of the one the controller runs in.
type KubeConfigReference struct {
	// SecretRef names the Secret, in the namespace of the referrer, that holds
	// the kubeconfig. The key defaults to "value", then "value.yaml".
	// +required
	SecretRef SecretKeyReference `json:"secretRef"`
}
