package helmsource

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/testserver/chartrepo"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

func TestHelmChart_ResolvesTheHighestVersionInRangeAndFollowsNewOnes(t *testing.T) {
	ns := newNamespace(t)
	srv := chartrepo.New(t)
	for _, v := range []string{"0.9.0", "1.0.0", "1.4.0", "2.0.0"} {
		srv.Publish("app", v)
	}
	repo := helmRepo(ns, "charts", srv.URL(), func(s *sourcev1.HelmRepositorySpec) { s.Interval = every(2 * time.Second) })
	harness.Create(t, cluster, repo)
	// The chart's own interval is an hour: only the watch on the repository's
	// new index can bring a new version in time.
	obj := helmChart(ns, "app", sourcev1.HelmRepositoryKind, "charts", "app", ">=1.0.0 <2.0.0")
	harness.Create(t, cluster, obj)

	got := harness.WaitForRevision(t, cluster, obj, "1.4.0")
	if ch := fetchChart(t, got.Status.Artifact); ch.Metadata.Version != "1.4.0" || ch.Name() != "app" {
		t.Errorf("artifact holds %s %s", ch.Name(), ch.Metadata.Version)
	}
	r := harness.Get(t, cluster, repo)
	if got.Status.ObservedChartName != "app" || got.Status.ObservedSourceArtifactRevision != r.Status.Artifact.Revision {
		t.Errorf("status: chart %q, source revision %q (repository has %q)", got.Status.ObservedChartName,
			got.Status.ObservedSourceArtifactRevision, r.Status.Artifact.Revision)
	}

	start := time.Now()
	srv.Publish("app", "1.5.0")
	srv.Publish("app", "2.1.0")
	got = harness.WaitForRevision(t, cluster, obj, "1.5.0")
	elapsed := time.Since(start)
	t.Logf("new version stored %v after publishing (repository interval 2s)", elapsed.Round(time.Millisecond))
	if elapsed > 10*time.Second {
		t.Errorf("a new matching version took %v to reach the HelmChart", elapsed)
	}
	if ch := fetchChart(t, got.Status.Artifact); ch.Metadata.Version != "1.5.0" {
		t.Errorf("artifact holds version %s", ch.Metadata.Version)
	}
	// The chart follows the repository's new index at once (times are in seconds).
	r = harness.Get(t, cluster, repo)
	if lag := got.Status.Artifact.LastUpdateTime.Sub(r.Status.Artifact.LastUpdateTime.Time); lag > 2*time.Second {
		t.Errorf("the HelmChart was rebuilt %v after the repository's new index", lag)
	}
}

func TestHelmChart_NoMatchingVersionSaysSo(t *testing.T) {
	ns := newNamespace(t)
	srv := chartrepo.New(t)
	srv.Publish("app", "1.0.0")
	harness.Create(t, cluster, helmRepo(ns, "charts", srv.URL()))
	obj := helmChart(ns, "app", sourcev1.HelmRepositoryKind, "charts", "app", ">=5.0.0")
	harness.Create(t, cluster, obj)
	got := harness.WaitForReason(t, cluster, obj, sourcev1.ChartPullFailedReason)
	msg := meta.GetCondition(got, meta.ReadyCondition).Message
	if !strings.Contains(msg, `no version of chart "app" satisfies ">=5.0.0"`) || !strings.Contains(msg, "1.0.0") {
		t.Errorf("message %q: want which range failed and which versions exist", msg)
	}
	if meta.IsStalled(got) {
		t.Error("a missing version may be published later: not stalled")
	}

	bad := helmChart(ns, "bad", sourcev1.HelmRepositoryKind, "charts", "app", "not-a-range!")
	harness.Create(t, cluster, bad)
	got = harness.WaitForReason(t, cluster, bad, "InvalidChartReference")
	if !meta.IsStalled(got) {
		t.Errorf("an invalid range cannot be fixed by retrying: want Stalled, %s", harness.Conditions(got))
	}

	missing := helmChart(ns, "missing-source", sourcev1.HelmRepositoryKind, "nope", "app", "*")
	harness.Create(t, cluster, missing)
	got = harness.WaitForReason(t, cluster, missing, meta.ArtifactFailedReason)
	if meta.IsStalled(got) {
		t.Errorf("a missing source may appear: not stalled, %s", harness.Conditions(got))
	}
}

func TestHelmChart_FromGitRepositoryWithValuesFiles(t *testing.T) {
	ns := newNamespace(t)
	git := gitserver.NewHTTP(t)
	files := map[string]string{"env/prod.yaml": "message: from-prod\nreplicaCount: 3\n"}
	for rel, content := range chartrepo.ChartFiles("app", "0.3.0") {
		files["charts/app/"+rel] = content
	}
	repo := gitserver.InitRepo(t, git.Root(), "infra", files)
	src := &sourcev1.GitRepository{}
	src.Namespace, src.Name = ns, "infra"
	src.Spec = sourcev1.GitRepositorySpec{URL: git.URL("infra"), Interval: every(2 * time.Second)}
	harness.Create(t, cluster, src)

	obj := helmChart(ns, "app", sourcev1.GitRepositoryKind, "infra", "./charts/app", "", func(s *sourcev1.HelmChartSpec) {
		s.ValuesFiles = []string{"env/prod.yaml", "env/missing.yaml"}
		s.IgnoreMissingValuesFiles = true
	})
	harness.Create(t, cluster, obj)
	got := harness.WaitForRevision(t, cluster, obj, "0.3.0")
	ch := fetchChart(t, got.Status.Artifact)
	if ch.Values["message"] != "from-prod" || ch.Values["replicaCount"] != float64(3) || ch.Values["image"] == nil {
		t.Errorf("merged values: %v", ch.Values)
	}
	if strings.Join(got.Status.ObservedValuesFiles, ",") != "env/prod.yaml" || got.Status.ObservedChartName != "app" ||
		got.Status.ObservedSourceArtifactRevision != "main@sha1:"+repo.Head(t) {
		t.Errorf("status: values %v, chart %q, source %q", got.Status.ObservedValuesFiles, got.Status.ObservedChartName,
			got.Status.ObservedSourceArtifactRevision)
	}

	// With the Revision strategy the version carries the commit.
	rev := helmChart(ns, "app-rev", sourcev1.GitRepositoryKind, "infra", "charts/app", "", func(s *sourcev1.HelmChartSpec) {
		s.ReconcileStrategy = sourcev1.ReconcileStrategyRevision
	})
	harness.Create(t, cluster, rev)
	want := "0.3.0+" + repo.Head(t)[:12]
	harness.WaitForRevision(t, cluster, rev, want)

	// A new commit: a new artifact for Revision, the same one for ChartVersion
	// (the chart's version did not change).
	next := repo.Commit(t, map[string]string{"env/prod.yaml": "message: changed\n"}, "values")
	harness.WaitForRevision(t, cluster, rev, "0.3.0+"+next[:12])
	same := harness.WaitFor(t, cluster, obj, "source revision "+next, func(o *sourcev1.HelmChart) bool {
		return o.Status.ObservedSourceArtifactRevision == "main@sha1:"+next
	})
	if same.Status.Artifact.Digest != got.Status.Artifact.Digest {
		t.Errorf("ChartVersion strategy: same chart version must keep the artifact")
	}

	// Missing values files fail when they are not ignored.
	strict := helmChart(ns, "strict", sourcev1.GitRepositoryKind, "infra", "charts/app", "", func(s *sourcev1.HelmChartSpec) {
		s.ValuesFiles = []string{"env/missing.yaml"}
	})
	harness.Create(t, cluster, strict)
	got = harness.WaitForReason(t, cluster, strict, sourcev1.ChartPackageFailedReason)
	if m := meta.GetCondition(got, meta.ReadyCondition).Message; !regexp.MustCompile(`env/missing.yaml.*not found`).MatchString(m) {
		t.Errorf("message %q", m)
	}
}

func TestHelmChart_FromOCIRepository(t *testing.T) {
	ns := newNamespace(t)
	reg := chartrepo.NewRegistry(t, chartrepo.WithBasicAuth("user", "s3cret-pass"))
	for _, v := range []string{"1.0.0", "1.2.0", "2.0.0"} {
		reg.Push("app", v)
	}
	harness.CreateSecret(t, cluster, ns, "creds", map[string][]byte{"username": []byte("user"), "password": []byte("s3cret-pass")})
	harness.Create(t, cluster, helmRepo(ns, "oci", reg.URL(), func(s *sourcev1.HelmRepositorySpec) {
		s.Type, s.Insecure, s.SecretRef = sourcev1.HelmRepositoryTypeOCI, true, &meta.LocalObjectReference{Name: "creds"}
	}))
	obj := helmChart(ns, "app", sourcev1.HelmRepositoryKind, "oci", "app", "1.x", func(s *sourcev1.HelmChartSpec) {
		s.Interval = every(2 * time.Second)
	})
	harness.Create(t, cluster, obj)
	got := harness.WaitForRevision(t, cluster, obj, "1.2.0")
	if ch := fetchChart(t, got.Status.Artifact); ch.Metadata.Version != "1.2.0" {
		t.Errorf("artifact holds %s", ch.Metadata.Version)
	}
	reg.Push("app", "1.3.0")
	harness.WaitForRevision(t, cluster, obj, "1.3.0")
}
