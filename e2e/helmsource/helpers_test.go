package helmsource

import (
	"bytes"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
)

// newNamespace makes a namespace for the test and shows the end of the
// reconciler's log when the test fails.
func newNamespace(t *testing.T) string {
	t.Helper()
	reconciler.LogOnFailure(t)
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

// fetchChart downloads a HelmChart's artifact and loads it.
func fetchChart(t *testing.T, a *meta.Artifact) *chart.Chart {
	t.Helper()
	ch, err := loader.LoadArchive(bytes.NewReader(harness.DownloadArtifact(t, a)))
	if err != nil {
		t.Fatalf("the artifact is not a chart: %v", err)
	}
	return ch
}
