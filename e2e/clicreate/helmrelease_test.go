package clicreate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/testserver/chartrepo"
)

// The Flux CLI's way to install a chart carries over: a HelmRepository,
// then a HelmRelease with a version range, a values file and values from a
// ConfigMap; reconcile --with-source picks up a newer chart.
func TestCreateHelmRelease_InstallsTheChartWithValuesAndUpgrades(t *testing.T) {
	t.Parallel()
	ns := testcluster.NewNamespace(t, cluster)
	reconciler.LogOnFailure(t)
	charts := chartrepo.New(t)
	charts.Publish("app", "1.0.0")

	res := tether(t, 0, "create", "source", "helm", "charts", "-n", ns, "--url", charts.URL(), "--interval", "1h")
	mustContain(t, "create source helm stderr", res.Stderr, "fetched revision sha256:")

	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte("message: from-file\nreplicaCount: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	harness.Create(t, cluster, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app-values"},
		Data:       map[string]string{"values.yaml": "extra: from-configmap\n"},
	})
	args := []string{"create", "helmrelease", "app", "-n", ns, "--source", "HelmRepository/charts", "--chart", "app",
		"--chart-version", ">=1.0.0", "--values", values, "--values-from", "ConfigMap/app-values", "--interval", "1h"}

	// --export prints what would be applied and applies nothing.
	res = tether(t, 0, append(args, "--export")...)
	var exported helmv1.HelmRelease
	if err := yaml.UnmarshalStrict([]byte(res.Stdout), &exported); err != nil {
		t.Fatalf("--export is not one HelmRelease: %v\n%s", err, res.Stdout)
	}
	if s := exported.Spec; s.Chart == nil || s.Chart.Spec.Version != ">=1.0.0" || s.Chart.Spec.SourceRef.Kind != "HelmRepository" ||
		len(s.ValuesFrom) != 1 || s.ValuesFrom[0].Name != "app-values" || !contains(string(s.Values.Raw), "from-file") {
		t.Errorf("exported spec: %+v", s)
	}
	if err := cluster.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "app"}, &helmv1.HelmRelease{}); err == nil {
		t.Fatal("--export created the HelmRelease")
	}

	res = tether(t, 0, args...)
	mustContain(t, "create helmrelease stderr", res.Stderr, "applied revision 1.0.0")
	data := releaseConfig(t, ns)
	if data["message"] != "from-file" || data["extra"] != "from-configmap" || data["chartVersion"] != "1.0.0" {
		t.Errorf("release ConfigMap data %v: want the file's and the ConfigMap's values, chart 1.0.0", data)
	}

	res = tether(t, 0, "get", "helmreleases", "-n", ns)
	if fields := rowOf(t, res.Stdout, "app"); !contains(fields, "1.0.0") || !contains(fields, "True") {
		t.Errorf("get helmreleases row: %q", fields)
	}

	charts.Publish("app", "1.1.0")
	res = tether(t, 0, "reconcile", "helmrelease", "app", "-n", ns, "--with-source")
	mustContain(t, "reconcile stderr", res.Stderr, "applied revision 1.1.0")
	if v := releaseConfig(t, ns)["chartVersion"]; v != "1.1.0" {
		t.Errorf("after reconcile --with-source the release has chart %s, want 1.1.0", v)
	}
}

func releaseConfig(t *testing.T, ns string) map[string]string {
	t.Helper()
	var cm corev1.ConfigMap
	if err := cluster.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "app-config"}, &cm); err != nil {
		t.Fatalf("the release's ConfigMap: %v", err)
	}
	return cm.Data
}

// rowOf returns the table line whose first column is name.
func rowOf(t *testing.T, table, name string) string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return line
		}
	}
	t.Fatalf("no row %q in:\n%s", name, table)
	return ""
}

func contains(s, part string) bool { return strings.Contains(s, part) }
