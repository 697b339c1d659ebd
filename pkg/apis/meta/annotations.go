package meta

import "time"

const (
	// ReconcileRequestAnnotation asks the controller to reconcile an object
	// out of its interval. Its value is opaque (the CLI uses the current time
	// in RFC 3339); a change of value is a new request. The controller records
	// the value it handled in status.lastHandledReconcileAt.
	ReconcileRequestAnnotation string = "reconcile.tether.dev/requestedAt"

	// Finalizer is set on Tether objects that need clean-up when deleted.
	Finalizer string = "tether.dev/finalizer"
)

// ReconcileAnnotationValue returns the value of ReconcileRequestAnnotation in
// annotations, and whether it is set.
func ReconcileAnnotationValue(annotations map[string]string) (string, bool) {
	v, ok := annotations[ReconcileRequestAnnotation]
	return v, ok
}

// NewReconcileRequestValue returns a fresh value for
// ReconcileRequestAnnotation, based on t.
func NewReconcileRequestValue(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// ReconcileRequestStatus is embedded (inline) in the status of every Tether
// kind to record which reconcile request has been handled.
type ReconcileRequestStatus struct {
	// LastHandledReconcileAt is the value of the reconcile.tether.dev/requestedAt
	// annotation that the controller handled last.
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`
}

// GetLastHandledReconcileRequest returns the last handled reconcile request
// value.
func (in ReconcileRequestStatus) GetLastHandledReconcileRequest() string {
	return in.LastHandledReconcileAt
}

// SetLastHandledReconcileRequest records v as the last handled reconcile
// request value.
func (in *ReconcileRequestStatus) SetLastHandledReconcileRequest(v string) {
	in.LastHandledReconcileAt = v
}
