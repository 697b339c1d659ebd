package gitrepository

import (
	"context"
	"testing"
	"time"

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

// events returns "Reason: note" of the events about obj.
func events(t *testing.T, obj *sourcev1.GitRepository) []string {
	t.Helper()
	return harness.Events(t, cluster, sourcev1.GitRepositoryKind, obj.Namespace, obj.Name)
}
