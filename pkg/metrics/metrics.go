// Package metrics holds the reconciler's Prometheus metrics, registered with
// controller-runtime's registry and served on --metrics-addr.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	reconcileDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tether_reconcile_duration_seconds",
		Help:    "Time a reconcile of one object took, by kind.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"kind"})
	ready = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tether_ready",
		Help: "1 when the object is Ready, 0 when it is not, -1 when unknown.",
	}, []string{"kind", "namespace", "name"})
	applied = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tether_applied_objects_total",
		Help: "Objects applied or pruned by Kustomizations, by what was done (created, configured, unchanged, deleted, skipped).",
	}, []string{"action"})
)

func init() {
	crmetrics.Registry.MustRegister(reconcileDuration, ready, applied)
}

// ObserveReconcile records how long a reconcile of one object of kind took.
func ObserveReconcile(kind string, d time.Duration) {
	reconcileDuration.WithLabelValues(kind).Observe(d.Seconds())
}

// SetReady records an object's Ready condition status ("True", "False", else unknown).
func SetReady(kind, namespace, name, status string) {
	v := -1.0
	switch status {
	case "True":
		v = 1
	case "False":
		v = 0
	}
	ready.WithLabelValues(kind, namespace, name).Set(v)
}

// DeleteReady forgets a deleted object.
func DeleteReady(kind, namespace, name string) {
	ready.DeleteLabelValues(kind, namespace, name)
}

// CountApplied adds n objects to the count for action.
func CountApplied(action string, n int) {
	if n > 0 {
		applied.WithLabelValues(action).Add(float64(n))
	}
}
