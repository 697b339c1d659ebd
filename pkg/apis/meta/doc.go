// Package meta holds the API types, constants and helpers shared by all Tether
// API groups: condition types and reasons, object references, the source
// Artifact, and the interfaces every Tether kind implements so that generic
// code (the CLI, the reconcilers) can handle them uniformly.
//
// +kubebuilder:object:generate=true
package meta
