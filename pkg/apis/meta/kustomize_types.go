package meta

// Selector picks Kubernetes objects. An object is selected when it matches
// every field that is set.
type Selector struct {
	// Group is the API group of the objects.
	// +optional
	Group string `json:"group,omitempty"`

	// Version is the API version of the objects.
	// +optional
	Version string `json:"version,omitempty"`

	// Kind is the kind of the objects.
	// +optional
	Kind string `json:"kind,omitempty"`

	// Namespace is the namespace of the objects.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Name is a regular expression matched against the names of the objects.
	// +optional
	Name string `json:"name,omitempty"`

	// AnnotationSelector is a label-selector expression matched against the
	// objects' annotations.
	// +optional
	AnnotationSelector string `json:"annotationSelector,omitempty"`

	// LabelSelector is a label-selector expression matched against the
	// objects' labels.
	// +optional
	LabelSelector string `json:"labelSelector,omitempty"`
}

// Patch is a strategic-merge or JSON 6902 patch and the objects it applies to.
type Patch struct {
	// Patch is the patch document, inline YAML or JSON. A strategic-merge patch
	// names its object; a JSON 6902 patch is a list of operations.
	// +required
	Patch string `json:"patch"`

	// Target selects the objects to patch. When omitted, a strategic-merge
	// patch applies to the object it names.
	// +optional
	Target *Selector `json:"target,omitempty"`
}

// Image rewrites container image references.
type Image struct {
	// Name is the image name to match, without tag or digest.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`

	// NewName replaces the matched name.
	// +optional
	NewName string `json:"newName,omitempty"`

	// NewTag replaces the tag.
	// +optional
	NewTag string `json:"newTag,omitempty"`

	// Digest replaces the tag with a digest; NewTag is ignored when Digest is
	// set.
	// +optional
	Digest string `json:"digest,omitempty"`
}
