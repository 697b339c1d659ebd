// Package v1 contains the v1 API of the source.tether.dev group: the kinds
// that fetch content (Git, Helm repositories and charts, buckets, OCI
// artifacts) and publish it as Artifacts.
//
// +kubebuilder:object:generate=true
// +groupName=source.tether.dev
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "source.tether.dev", Version: "v1"}

	// SchemeBuilder registers this API's types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds this API's types to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
