package meta

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ObjectWithConditions is an object whose status holds conditions.
//
// +kubebuilder:object:generate=false
type ObjectWithConditions interface {
	// GetConditions returns status.conditions.
	GetConditions() []metav1.Condition
	// SetConditions replaces status.conditions.
	SetConditions(conditions []metav1.Condition)
}

// Reconcilable is implemented (with a pointer receiver) by every Tether kind.
// Generic code such as the CLI's get, suspend, resume and reconcile commands
// uses it to handle all kinds alike.
//
// +kubebuilder:object:generate=false
type Reconcilable interface {
	metav1.Object
	runtime.Object
	ObjectWithConditions

	// IsSuspended reports whether spec.suspend is true.
	IsSuspended() bool
	// SetSuspended sets spec.suspend.
	SetSuspended(suspend bool)
	// GetInterval returns spec.interval, or DefaultInterval when it is unset
	// or not positive.
	GetInterval() time.Duration
	// GetTimeout returns spec.timeout, or GetInterval() when it is unset.
	GetTimeout() time.Duration
	// GetRequeueAfter returns how long after a successful reconciliation the
	// object is reconciled again (the interval).
	GetRequeueAfter() time.Duration
	// GetLastHandledReconcileRequest returns status.lastHandledReconcileAt.
	GetLastHandledReconcileRequest() string
	// SetLastHandledReconcileRequest sets status.lastHandledReconcileAt.
	SetLastHandledReconcileRequest(value string)
	// GetObservedGeneration returns status.observedGeneration.
	GetObservedGeneration() int64
	// SetObservedGeneration sets status.observedGeneration.
	SetObservedGeneration(generation int64)
}

// ObjectWithArtifact is an object that produces an Artifact.
//
// +kubebuilder:object:generate=false
type ObjectWithArtifact interface {
	// GetArtifact returns status.artifact, nil when there is none yet.
	GetArtifact() *Artifact
}

// Source is implemented by every kind of the source.tether.dev group.
//
// +kubebuilder:object:generate=false
type Source interface {
	Reconcilable
	ObjectWithArtifact
}

// ObjectWithDependencies is an object that waits for others (spec.dependsOn).
//
// +kubebuilder:object:generate=false
type ObjectWithDependencies interface {
	// GetDependsOn returns spec.dependsOn.
	GetDependsOn() []DependencyReference
}

// ReconcilableList is implemented (with a pointer receiver) by the List type
// of every Tether kind.
//
// +kubebuilder:object:generate=false
type ReconcilableList interface {
	metav1.ListInterface
	runtime.Object
	// GetItems returns pointers to the items of the list.
	GetItems() []Reconcilable
}
