// Package v1 contains the v1 API of the kustomize.tether.dev group: the
// Kustomization kind, which builds manifests from a source with kustomize and
// applies them.
//
// +kubebuilder:object:generate=true
// +groupName=kustomize.tether.dev
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "kustomize.tether.dev", Version: "v1"}

	// SchemeBuilder registers this API's types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds this API's types to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
