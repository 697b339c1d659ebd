package gitrepository

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/artifact"
)

const timeout = 60 * time.Second

func createRepo(t *testing.T, ns, name string, spec sourcev1.GitRepositorySpec) *sourcev1.GitRepository {
	t.Helper()
	if spec.Interval == nil {
		spec.Interval = &metav1.Duration{Duration: 2 * time.Second}
	}
	obj := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	if err := cluster.Client.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

func createSecret(t *testing.T, ns, name string, data map[string][]byte) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
	if err := cluster.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, obj *sourcev1.GitRepository) *sourcev1.GitRepository {
	t.Helper()
	out := &sourcev1.GitRepository{}
	if err := cluster.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), out); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitFor polls the object until cond holds, failing with the last status.
func waitFor(t *testing.T, obj *sourcev1.GitRepository, what string, cond func(*sourcev1.GitRepository) bool) *sourcev1.GitRepository {
	t.Helper()
	var last *sourcev1.GitRepository
	testcluster.Eventually(t, timeout, 100*time.Millisecond, func() error {
		last = get(t, obj)
		if cond(last) {
			return nil
		}
		return fmt.Errorf("%s/%s: waiting for %s; conditions: %s", obj.Namespace, obj.Name, what, conditions(last))
	})
	return last
}

// waitForRevision waits until the object is Ready with an artifact at revision.
func waitForRevision(t *testing.T, obj *sourcev1.GitRepository, revision string) *sourcev1.GitRepository {
	t.Helper()
	return waitFor(t, obj, "revision "+revision, func(o *sourcev1.GitRepository) bool {
		return meta.IsReady(o) && o.Status.Artifact != nil && o.Status.Artifact.Revision == revision
	})
}

func waitForReason(t *testing.T, obj *sourcev1.GitRepository, reason string) *sourcev1.GitRepository {
	t.Helper()
	return waitFor(t, obj, "Ready=False "+reason, func(o *sourcev1.GitRepository) bool {
		c := meta.GetCondition(o, meta.ReadyCondition)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == reason
	})
}

func conditions(o *sourcev1.GitRepository) string {
	s := ""
	for _, c := range o.Status.Conditions {
		s += fmt.Sprintf("[%s=%s %s: %s] ", c.Type, c.Status, c.Reason, c.Message)
	}
	return s
}

// fetchArtifact downloads the artifact from the URL in status, as the CLI or
// another tool would, verifies its digest and returns the files it holds.
func fetchArtifact(t *testing.T, a *meta.Artifact) map[string]string {
	t.Helper()
	resp, err := http.Get(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", a.URL, resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256Digest(data); got != a.Digest {
		t.Fatalf("artifact digest %s, status says %s", got, a.Digest)
	}
	dir := t.TempDir()
	if err := artifact.Extract(bytesReader(data), dir, artifact.DefaultLimits()); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// requestReconcile sets the reconcile request annotation, as `tether reconcile` does.
func requestReconcile(t *testing.T, obj *sourcev1.GitRepository) string {
	t.Helper()
	v := meta.NewReconcileRequestValue(time.Now())
	cur := get(t, obj)
	patch := client.MergeFrom(cur.DeepCopy())
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	cur.Annotations[meta.ReconcileRequestAnnotation] = v
	if err := cluster.Client.Patch(context.Background(), cur, patch); err != nil {
		t.Fatal(err)
	}
	return v
}
