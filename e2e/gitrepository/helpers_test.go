package gitrepository

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
)

// createRepo creates a GitRepository, with an interval of 2s unless spec sets one.
func createRepo(t *testing.T, ns, name string, spec sourcev1.GitRepositorySpec) *sourcev1.GitRepository {
	t.Helper()
	if spec.Interval == nil {
		spec.Interval = &metav1.Duration{Duration: 2 * time.Second}
	}
	obj := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	harness.Create(t, cluster, obj)
	return obj
}

// patchSpec reads obj, changes it with mutate and sends a merge patch.
func patchSpec(t *testing.T, obj *sourcev1.GitRepository, mutate func(*sourcev1.GitRepository)) {
	t.Helper()
	cur := harness.Get(t, cluster, obj)
	patch := client.MergeFrom(cur.DeepCopy())
	mutate(cur)
	if err := cluster.Client.Patch(context.Background(), cur, patch); err != nil {
		t.Fatal(err)
	}
}

// events returns "Reason: note" of the events about obj, from both events
// APIs (the recorder writes events.k8s.io/v1; core/v1 shows them too).
func events(t *testing.T, obj *sourcev1.GitRepository) []string {
	t.Helper()
	var notes []string
	var list eventsv1.EventList
	if err := cluster.Client.List(context.Background(), &list, client.InNamespace(obj.Namespace)); err != nil {
		t.Fatal(err)
	}
	for _, e := range list.Items {
		if e.Regarding.Kind == sourcev1.GitRepositoryKind && e.Regarding.Name == obj.Name {
			notes = append(notes, e.Reason+": "+e.Note)
		}
	}
	if len(notes) > 0 {
		return notes
	}
	var core corev1.EventList
	if err := cluster.Client.List(context.Background(), &core, client.InNamespace(obj.Namespace)); err != nil {
		t.Fatal(err)
	}
	for _, e := range core.Items {
		if e.InvolvedObject.Kind == sourcev1.GitRepositoryKind && e.InvolvedObject.Name == obj.Name {
			notes = append(notes, e.Reason+": "+e.Message)
		}
	}
	return notes
}
