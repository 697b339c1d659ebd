package harness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/artifact"
)

// WaitTimeout bounds the waits of WaitFor and the helpers built on it.
const WaitTimeout = 60 * time.Second

// Create creates obj in the cluster, failing the test on error.
func Create(t testing.TB, c *testcluster.Cluster, obj client.Object) {
	t.Helper()
	if err := c.Client.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
}

// CreateSecret creates an Opaque Secret holding data.
func CreateSecret(t testing.TB, c *testcluster.Cluster, ns, name string, data map[string][]byte) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
	Create(t, c, s)
	return s
}

// Get reads obj's current state from the cluster into a new object.
func Get[T meta.Reconcilable](t testing.TB, c *testcluster.Cluster, obj T) T {
	t.Helper()
	out := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(T)
	if err := c.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), out); err != nil {
		t.Fatal(err)
	}
	return out
}

// WaitFor polls obj until cond holds and returns the state it held in; after
// WaitTimeout it fails the test with the last conditions.
func WaitFor[T meta.Reconcilable](t testing.TB, c *testcluster.Cluster, obj T, what string, cond func(T) bool) T {
	t.Helper()
	var last T
	testcluster.Eventually(t, WaitTimeout, 100*time.Millisecond, func() error {
		last = Get(t, c, obj)
		if cond(last) {
			return nil
		}
		return fmt.Errorf("%s/%s: waiting for %s; conditions: %s", obj.GetNamespace(), obj.GetName(), what, Conditions(last))
	})
	return last
}

// WaitReady waits until obj is Ready for its current generation.
func WaitReady[T meta.Reconcilable](t testing.TB, c *testcluster.Cluster, obj T) T {
	t.Helper()
	return WaitFor(t, c, obj, "Ready", func(o T) bool { return meta.IsReady(o) && o.GetObservedGeneration() == o.GetGeneration() })
}

// WaitForReason waits until obj is Ready=False with reason.
func WaitForReason[T meta.Reconcilable](t testing.TB, c *testcluster.Cluster, obj T, reason string) T {
	t.Helper()
	return WaitFor(t, c, obj, "Ready=False "+reason, func(o T) bool {
		cond := meta.GetCondition(o, meta.ReadyCondition)
		return cond != nil && cond.Status == metav1.ConditionFalse && cond.Reason == reason
	})
}

// WaitForRevision waits until obj is Ready with an artifact at revision.
func WaitForRevision[T meta.Source](t testing.TB, c *testcluster.Cluster, obj T, revision string) T {
	t.Helper()
	return WaitFor(t, c, obj, "revision "+revision, func(o T) bool {
		return meta.IsReady(o) && o.GetArtifact() != nil && o.GetArtifact().Revision == revision
	})
}

// WaitForNewRevision waits until obj is Ready for its current generation with
// an artifact whose revision is not old ("" accepts any artifact).
func WaitForNewRevision[T meta.Source](t testing.TB, c *testcluster.Cluster, obj T, old string) T {
	t.Helper()
	return WaitFor(t, c, obj, "Ready with a revision other than "+old, func(o T) bool {
		return meta.IsReady(o) && o.GetArtifact() != nil && o.GetArtifact().Revision != old &&
			o.GetObservedGeneration() == o.GetGeneration()
	})
}

// RequestReconcile sets the reconcile request annotation, as `tether
// reconcile` does, and returns its value.
func RequestReconcile[T meta.Reconcilable](t testing.TB, c *testcluster.Cluster, obj T) string {
	t.Helper()
	v := meta.NewReconcileRequestValue(time.Now())
	patchObject(t, c, obj, func(cur T) {
		ann := cur.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[meta.ReconcileRequestAnnotation] = v
		cur.SetAnnotations(ann)
	})
	return v
}

// ReconcileAndWait requests a reconcile and waits until the reconciler
// recorded handling it.
func ReconcileAndWait[T meta.Reconcilable](t testing.TB, c *testcluster.Cluster, obj T) T {
	t.Helper()
	v := RequestReconcile(t, c, obj)
	return WaitFor(t, c, obj, "reconcile request "+v, func(o T) bool { return o.GetLastHandledReconcileRequest() == v })
}

// SetSuspend sets spec.suspend with a merge patch.
func SetSuspend[T meta.Reconcilable](t testing.TB, c *testcluster.Cluster, obj T, suspend bool) {
	t.Helper()
	patchObject(t, c, obj, func(cur T) { cur.SetSuspended(suspend) })
}

// patchObject reads obj, changes it with mutate and sends the difference as a
// merge patch.
func patchObject[T meta.Reconcilable](t testing.TB, c *testcluster.Cluster, obj T, mutate func(T)) {
	t.Helper()
	cur := Get(t, c, obj)
	patch := client.MergeFrom(cur.DeepCopyObject().(T))
	mutate(cur)
	if err := c.Client.Patch(context.Background(), cur, patch); err != nil {
		t.Fatal(err)
	}
}

// Conditions formats obj's status conditions for messages.
func Conditions(obj meta.ObjectWithConditions) string {
	s := ""
	for _, c := range obj.GetConditions() {
		s += fmt.Sprintf("[%s=%s %s: %s] ", c.Type, c.Status, c.Reason, c.Message)
	}
	return s
}

// DownloadArtifact downloads an artifact from the URL in status, as a consumer
// would, checks its digest and returns its bytes.
func DownloadArtifact(t testing.TB, a *meta.Artifact) []byte {
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
	sum := sha256.Sum256(data)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != a.Digest {
		t.Fatalf("artifact digest %s, status says %s", got, a.Digest)
	}
	return data
}

// FetchArtifact downloads a tarball artifact (DownloadArtifact), extracts it
// as safely as the reconciler's consumers do and returns its files by
// slash-separated path.
func FetchArtifact(t testing.TB, a *meta.Artifact) map[string]string {
	t.Helper()
	data := DownloadArtifact(t, a)
	dir := t.TempDir()
	if err := artifact.Extract(bytes.NewReader(data), dir, artifact.DefaultLimits()); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
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

// SameFiles fails the test unless an artifact's files (FetchArtifact) are want.
func SameFiles(t testing.TB, got, want map[string]string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("artifact holds %v\nwant %v", got, want)
	}
}
