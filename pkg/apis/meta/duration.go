package meta

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultInterval is the reconciliation interval of an object whose
// spec.interval is unset. It matches the CRDs' default for spec.interval.
const DefaultInterval = time.Minute

// IntervalOrDefault returns d, or DefaultInterval when d is nil or not
// positive.
func IntervalOrDefault(d *metav1.Duration) time.Duration {
	if d == nil || d.Duration <= 0 {
		return DefaultInterval
	}
	return d.Duration
}

// DurationOr returns d, or def when d is nil or not positive.
func DurationOr(d *metav1.Duration, def time.Duration) time.Duration {
	if d == nil || d.Duration <= 0 {
		return def
	}
	return d.Duration
}
