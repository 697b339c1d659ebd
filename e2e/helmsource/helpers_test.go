package helmsource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
)

const timeout = 60 * time.Second

// object is what the helpers work on: a HelmRepository, HelmChart or GitRepository.
type object interface {
	client.Object
	meta.Source
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := cluster.Client.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
}

// newNamespace makes a namespace for the test and shows the end of the
// reconciler's log when the test fails.
func newNamespace(t *testing.T) string {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("reconciler log:\n%s", reconciler.Log(6000))
		}
	})
	return testcluster.NewNamespace(t, cluster)
}

func every(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

func helmRepo(ns, name, url string, mutate ...func(*sourcev1.HelmRepositorySpec)) *sourcev1.HelmRepository {
	spec := sourcev1.HelmRepositorySpec{URL: url, Interval: every(2 * time.Second)}
	for _, m := range mutate {
		m(&spec)
	}
	return &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
}

func helmChart(ns, name, kind, source, chartName, version string, mutate ...func(*sourcev1.HelmChartSpec)) *sourcev1.HelmChart {
	spec := sourcev1.HelmChartSpec{Chart: chartName, Version: version, Interval: every(time.Hour),
		SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: kind, Name: source}}
	for _, m := range mutate {
		m(&spec)
	}
	return &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
}

func createSecret(t *testing.T, ns, name string, data map[string][]byte) {
	t.Helper()
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data})
}

func get[T object](t *testing.T, obj T) T {
	t.Helper()
	out := obj.DeepCopyObject().(T)
	if err := cluster.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), out); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitFor polls the object until cond holds, failing with the last conditions.
func waitFor[T object](t *testing.T, obj T, what string, cond func(T) bool) T {
	t.Helper()
	var last T
	testcluster.Eventually(t, timeout, 100*time.Millisecond, func() error {
		last = get(t, obj)
		if cond(last) {
			return nil
		}
		return fmt.Errorf("%s/%s: waiting for %s; conditions: %s", obj.GetNamespace(), obj.GetName(), what, conditions(last))
	})
	return last
}

// waitForRevision waits until the object is Ready with an artifact at revision.
func waitForRevision[T object](t *testing.T, obj T, revision string) T {
	t.Helper()
	return waitFor(t, obj, "revision "+revision, func(o T) bool {
		return meta.IsReady(o) && o.GetArtifact() != nil && o.GetArtifact().Revision == revision
	})
}

func waitForReason[T object](t *testing.T, obj T, reason string) T {
	t.Helper()
	return waitFor(t, obj, "Ready=False "+reason, func(o T) bool {
		c := meta.GetCondition(o, meta.ReadyCondition)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == reason
	})
}

func waitReady[T object](t *testing.T, obj T) T {
	t.Helper()
	return waitFor(t, obj, "Ready", func(o T) bool { return meta.IsReady(o) && o.GetObservedGeneration() == o.GetGeneration() })
}

func conditions(o meta.ObjectWithConditions) string {
	s := ""
	for _, c := range o.GetConditions() {
		s += fmt.Sprintf("[%s=%s %s: %s] ", c.Type, c.Status, c.Reason, c.Message)
	}
	return s
}

// fetch downloads an artifact from the URL in status, as a consumer would,
// and checks its digest.
func fetch(t *testing.T, a *meta.Artifact) []byte {
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

// fetchChart downloads a HelmChart's artifact and loads it.
func fetchChart(t *testing.T, a *meta.Artifact) *chart.Chart {
	t.Helper()
	ch, err := loader.LoadArchive(bytes.NewReader(fetch(t, a)))
	if err != nil {
		t.Fatalf("the artifact is not a chart: %v", err)
	}
	return ch
}

// requestReconcile sets the reconcile request annotation, as `tether reconcile` does.
func requestReconcile[T object](t *testing.T, obj T) string {
	t.Helper()
	v := meta.NewReconcileRequestValue(time.Now())
	cur := get(t, obj)
	patch := client.MergeFrom(cur.DeepCopyObject().(T))
	ann := cur.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[meta.ReconcileRequestAnnotation] = v
	cur.SetAnnotations(ann)
	if err := cluster.Client.Patch(context.Background(), cur, patch); err != nil {
		t.Fatal(err)
	}
	return v
}
