package ocirepository

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
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

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := cluster.Client.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
}

func createSecret(t *testing.T, ns, name string, data map[string][]byte) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
	create(t, s)
	return s
}

func get(t *testing.T, obj *sourcev1.OCIRepository) *sourcev1.OCIRepository {
	t.Helper()
	out := &sourcev1.OCIRepository{}
	if err := cluster.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), out); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitFor polls the object until cond holds, failing with the last status.
func waitFor(t *testing.T, obj *sourcev1.OCIRepository, what string, cond func(*sourcev1.OCIRepository) bool) *sourcev1.OCIRepository {
	t.Helper()
	var last *sourcev1.OCIRepository
	testcluster.Eventually(t, timeout, 100*time.Millisecond, func() error {
		last = get(t, obj)
		if cond(last) {
			return nil
		}
		return fmt.Errorf("%s/%s: waiting for %s; conditions: %s", obj.Namespace, obj.Name, what, conditions(last.Status.Conditions))
	})
	return last
}

func waitReady(t *testing.T, obj *sourcev1.OCIRepository, notRevision string) *sourcev1.OCIRepository {
	t.Helper()
	return waitFor(t, obj, "Ready with a revision other than "+notRevision, func(o *sourcev1.OCIRepository) bool {
		return meta.IsReady(o) && o.Status.Artifact != nil && o.Status.Artifact.Revision != notRevision &&
			o.Status.ObservedGeneration == o.Generation
	})
}

func waitForReason(t *testing.T, obj *sourcev1.OCIRepository, reason string) *sourcev1.OCIRepository {
	t.Helper()
	return waitFor(t, obj, "Ready=False "+reason, func(o *sourcev1.OCIRepository) bool {
		c := meta.GetCondition(o, meta.ReadyCondition)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == reason
	})
}

// waitHandled requests a reconcile and waits until the reconciler recorded it.
func waitHandled(t *testing.T, obj *sourcev1.OCIRepository) *sourcev1.OCIRepository {
	t.Helper()
	v := requestReconcile(t, obj)
	return waitFor(t, obj, "reconcile request "+v, func(o *sourcev1.OCIRepository) bool {
		return o.Status.LastHandledReconcileAt == v
	})
}

func conditions(cs []metav1.Condition) string {
	s := ""
	for _, c := range cs {
		s += fmt.Sprintf("[%s=%s %s: %s] ", c.Type, c.Status, c.Reason, c.Message)
	}
	return s
}

// requestReconcile sets the reconcile request annotation, as `tether reconcile` does.
func requestReconcile(t *testing.T, obj *sourcev1.OCIRepository) string {
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

// fetchArtifact downloads the artifact from the URL in status, as a consumer
// would, checks its digest and returns the files it holds.
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
	sum := sha256.Sum256(data)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != a.Digest {
		t.Fatalf("artifact digest %s, status says %s", got, a.Digest)
	}
	dir := t.TempDir()
	if err := artifact.Extract(bytes.NewReader(data), dir, artifact.DefaultLimits()); err != nil {
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

func sameFiles(t *testing.T, got, want map[string]string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("artifact holds %v\nwant %v", got, want)
	}
}

// logOnFailure prints the end of the reconciler's log when the test fails.
func logOnFailure(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("reconciler log (tail):\n%s", reconciler.Log(6000))
		}
	})
}

// evilLayer is a tar+gzip layer whose only entry climbs out with "../evil".
func evilLayer(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "../evil", Mode: 0o644, Size: 5, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte("pwned")); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
