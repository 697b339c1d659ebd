package harness

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/testcluster"
)

// Events returns "Reason: note" of the events about the object kind
// namespace/name. The reconciler writes events.k8s.io/v1 events, which the
// API server also shows as core/v1 events: those are read only when the
// first API has none, so that each event counts once.
func Events(t testing.TB, c *testcluster.Cluster, kind, namespace, name string) []string {
	t.Helper()
	ctx := context.Background()
	var notes []string
	var list eventsv1.EventList
	if err := c.Client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	for _, e := range list.Items {
		if e.Regarding.Kind == kind && e.Regarding.Name == name {
			notes = append(notes, e.Reason+": "+e.Note)
		}
	}
	if len(notes) > 0 {
		return notes
	}
	var core corev1.EventList
	if err := c.Client.List(ctx, &core, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	for _, e := range core.Items {
		if e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name {
			notes = append(notes, e.Reason+": "+e.Message)
		}
	}
	return notes
}
