package meta

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Artifact is a tarball (or file) a source produced and stored for consumers
// such as Kustomizations and HelmReleases.
type Artifact struct {
	// Path of the Artifact relative to the storage root.
	// +required
	Path string `json:"path"`

	// URL the Artifact can be downloaded from inside the cluster.
	// +required
	URL string `json:"url"`

	// Revision identifies the upstream content, e.g. "main@sha1:<commit>" for
	// Git, "<tag>@sha256:<digest>" for OCI, or a chart version.
	// +required
	Revision string `json:"revision"`

	// Digest of the Artifact file, "<algorithm>:<hex>".
	// +kubebuilder:validation:Pattern="^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"
	// +optional
	Digest string `json:"digest,omitempty"`

	// LastUpdateTime is when the Artifact was last written.
	// +required
	LastUpdateTime metav1.Time `json:"lastUpdateTime"`

	// Size of the Artifact file in bytes.
	// +optional
	Size *int64 `json:"size,omitempty"`

	// Metadata holds upstream information, such as OCI annotations.
	// +optional
	Metadata map[string]string `json:"metadata,omitempty"`
}

// HasRevision reports whether the Artifact has the given revision. A nil
// Artifact has no revision.
func (in *Artifact) HasRevision(revision string) bool {
	return in != nil && in.Revision == revision
}

// HasDigest reports whether the Artifact has the given digest. A nil Artifact
// has no digest.
func (in *Artifact) HasDigest(digest string) bool {
	return in != nil && in.Digest == digest
}

// RevisionDigest returns the digest part of a "<name>@<algo>:<hex>" revision,
// the revision itself when it has the "<algo>:<hex>" form, or "" otherwise.
func RevisionDigest(revision string) string {
	if i := strings.LastIndex(revision, "@"); i >= 0 {
		return revision[i+1:]
	}
	if strings.Contains(revision, ":") {
		return revision
	}
	return ""
}
