package gitrepository

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
