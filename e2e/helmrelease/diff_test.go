package helmrelease

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/testserver/chartrepo"
)

// diffLine reports whether out has a line that starts with prefix ("+",
// "-") and holds every part.
func diffLine(out, prefix string, parts ...string) bool {
	for line := range strings.SplitSeq(out, "\n") {
		if !strings.HasPrefix(line, prefix) || strings.HasPrefix(line, prefix+prefix+prefix) {
			continue
		}
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func valuesFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDiffHelmRelease_ShowsWhatANewChartOrValuesWouldChangeWithoutChangingIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("web", "1.0.0", map[string]any{"message": "one"})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)
	diff := func(args ...string) harness.Result {
		t.Helper()
		return harness.Tether(t, cluster, append([]string{"diff", "helmrelease", "web", "-n", f.ns}, args...)...)
	}

	// The release is what the spec asks for: nothing to say.
	if r := diff(); r.ExitCode != 0 || r.Stdout != "" || r.Stderr != "" {
		t.Errorf("in sync: exit %d, stdout %q, stderr %q; want 0 and no output", r.ExitCode, r.Stdout, r.Stderr)
	}

	// A newer chart in the range of --chart-version changes one object.
	publish(t, f.srv, "app", "1.1.0", chartOpts{})
	if r := diff(); r.ExitCode != 0 || r.Stdout != "" {
		t.Errorf("spec pins 1.0.0, 1.1.0 published: exit %d, stdout %q; want 0", r.ExitCode, r.Stdout)
	}
	r := diff("--chart-version", "1.x")
	if r.ExitCode != 1 || !diffLine(r.Stdout, "-", "chartVersion", "1.0.0") || !diffLine(r.Stdout, "+", "chartVersion", "1.1.0") {
		t.Errorf("--chart-version 1.x: exit %d, want 1 and chartVersion 1.0.0 -> 1.1.0 in the diff:\n%s", r.ExitCode, r.Stdout)
	}
	if !strings.Contains(r.Stderr, "chart app 1.0.0 -> 1.1.0") || !strings.Contains(r.Stderr, "ConfigMap/"+f.ns+"/web-config changed") {
		t.Errorf("--chart-version 1.x: stderr does not name the chart and the changed ConfigMap:\n%s", r.Stderr)
	}
	if strings.Contains(r.Stdout+r.Stderr, "Deployment/") || strings.Contains(r.Stderr, "values changed") {
		t.Errorf("--chart-version 1.x: reports what does not change:\nstdout:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
	}

	// --chart-version pinned to the deployed version: no change.
	if r := diff("--chart-version", "1.0.0"); r.ExitCode != 0 || r.Stdout != "" {
		t.Errorf("--chart-version 1.0.0: exit %d, stdout %q; want 0 and no diff", r.ExitCode, r.Stdout)
	}

	// Local values files merge over the spec's values, the last one winning.
	r = diff("--values", valuesFile(t, "message: two\nextra: x\n"), "--values", valuesFile(t, "message: three\n"))
	if r.ExitCode != 1 || !diffLine(r.Stdout, "-", "message", "one") || !diffLine(r.Stdout, "+", "message", "three") ||
		!diffLine(r.Stdout, "+", "extra", "x") || strings.Contains(r.Stdout, "two") {
		t.Errorf("--values: exit %d, want 1 and message one -> three, extra x:\n%s", r.ExitCode, r.Stdout)
	}
	if !strings.Contains(r.Stderr, "values changed") || strings.Contains(r.Stderr, "chart app") {
		t.Errorf("--values: stderr:\n%s", r.Stderr)
	}

	// A version the repository does not have, a missing HelmRelease: errors.
	if r := diff("--chart-version", "9.x"); r.ExitCode != 2 || !strings.Contains(r.Stderr, `no version of chart "app" satisfies "9.x"`) {
		t.Errorf("--chart-version 9.x: exit %d, stderr %q; want 2 and what is missing", r.ExitCode, r.Stderr)
	}
	r = harness.Tether(t, cluster, "diff", "hr", "missing", "-n", f.ns)
	if r.ExitCode != 2 || !strings.Contains(r.Stderr, "HelmRelease "+f.ns+"/missing not found") || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Errorf("a missing HelmRelease: exit %d, stderr %q; want 2 and one line naming it", r.ExitCode, r.Stderr)
	}

	// The dry-runs changed nothing: one release version, objects as released.
	if secrets := releaseSecrets(t, f.ns, "web"); !slices.Equal(secrets, []string{"sh.helm.release.v1.web.v1"}) {
		t.Errorf("release Secrets after the diffs: %v", secrets)
	}
	if d := configData(t, f.ns, "web"); d["message"] != "one" || d["chartVersion"] != "1.0.0" || d["extra"] != "" {
		t.Errorf("ConfigMap data after the diffs: %v", d)
	}
	if s := harness.Get(t, cluster, hr).Status.History.Latest(); s.Version != 1 || s.ChartVersion != "1.0.0" {
		t.Errorf("history[0] after the diffs: %+v", s)
	}
}

func TestDiffHelmRelease_BeforeTheFirstInstallEverythingIsCreated(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{testHook: true})
	// Suspended: the reconciler never installs it, the diff shows the install.
	hr := f.release("fresh", "*", nil, func(s *helmv1.HelmReleaseSpec) {
		s.Suspend = true
		s.PostRenderers = []helmv1.PostRenderer{{Kustomize: &helmv1.KustomizePostRenderer{
			Patches: []meta.Patch{{Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: fresh\nspec:\n  replicas: 3\n"}},
		}}}
	})
	harness.Create(t, cluster, hr)

	r := harness.Tether(t, cluster, "diff", "helmrelease", "fresh", "-n", f.ns)
	if r.ExitCode != 1 {
		t.Errorf("exit %d, want 1", r.ExitCode)
	}
	for _, want := range []string{"suspended", "release " + f.ns + "/fresh would be installed with chart app 1.0.0",
		"ConfigMap/" + f.ns + "/fresh-config created", "ServiceAccount/" + f.ns + "/fresh created",
		"Service/" + f.ns + "/fresh created", "Deployment/" + f.ns + "/fresh created"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
	if !diffLine(r.Stdout, "+", "kind: Deployment") || !diffLine(r.Stdout, "+", "replicas: 3") || diffLine(r.Stdout, "-") {
		t.Errorf("stdout is not the post-rendered objects, in full, as additions:\n%s", r.Stdout)
	}
	if strings.Contains(r.Stdout+r.Stderr, "fresh-smoke") {
		t.Errorf("the test hook is in the diff:\n%s\n%s", r.Stdout, r.Stderr)
	}

	// Nothing was installed.
	if secrets := releaseSecrets(t, f.ns, "fresh"); len(secrets) != 0 {
		t.Errorf("release Secrets after the diff: %v", secrets)
	}
	err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: "fresh-config"}, &corev1.ConfigMap{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("the diff created the ConfigMap (get: %v)", err)
	}
}

func TestDiffHelmRelease_ChartRefToAnOCIRepositoryUsesItsArtifact(t *testing.T) {
	t.Parallel()
	reconciler.LogOnFailure(t)
	ns := testcluster.NewNamespace(t, cluster)
	reg := chartrepo.NewRegistry(t)
	reg.Push("app", "1.0.0")
	harness.Create(t, cluster, &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, Spec: sourcev1.OCIRepositorySpec{
		URL: "oci://" + reg.Host() + "/charts/app", Insecure: true, Interval: every(time.Minute),
		Reference:     &sourcev1.OCIRepositoryRef{SemVer: "1.x"},
		LayerSelector: &sourcev1.OCILayerSelector{MediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip", Operation: sourcev1.OCILayerCopy},
	}})
	hr := &helmv1.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ref"}, Spec: helmv1.HelmReleaseSpec{
		Interval: every(time.Minute),
		ChartRef: &meta.CrossNamespaceSourceReference{Kind: sourcev1.OCIRepositoryKind, Name: "app"},
	}}
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)
	diff := func(args ...string) harness.Result {
		t.Helper()
		return harness.Tether(t, cluster, append([]string{"diff", "hr", "ref", "-n", ns}, args...)...)
	}

	if r := diff(); r.ExitCode != 0 || r.Stdout != "" {
		t.Errorf("in sync: exit %d, stdout %q", r.ExitCode, r.Stdout)
	}
	r := diff("-f", valuesFile(t, "replicaCount: 2\n"))
	if r.ExitCode != 1 || !diffLine(r.Stdout, "+", "replicas: 2") || !strings.Contains(r.Stderr, "Deployment/"+ns+"/ref changed") {
		t.Errorf("--values: exit %d, want 1 and the Deployment's replicas:\n%s\n%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if r := diff("--chart-version", "1.1.0"); r.ExitCode != 2 || !strings.Contains(r.Stderr, "--chart-version needs") {
		t.Errorf("--chart-version with an OCIRepository: exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
}
