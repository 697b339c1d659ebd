package helm_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"github.com/tether-gitops/tether/pkg/source/helm"
	"github.com/tether-gitops/tether/pkg/testserver/chartrepo"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPackage_MergesValuesFilesInOrder(t *testing.T) {
	root := t.TempDir()
	chartrepo.WriteChart(t, filepath.Join(root, "charts"), "app", "1.2.3")
	writeFile(t, filepath.Join(root, "env/a.yaml"), "message: from-a\nextra: a\nimage:\n  tag: \"2.0\"\n")
	writeFile(t, filepath.Join(root, "env/b.yaml"), "message: from-b\n")

	c, err := helm.Package(root, "./charts/app", helm.PackageOptions{
		ValuesFiles: []string{"env/a.yaml", "env/missing.yaml", "env/b.yaml"}, IgnoreMissingValuesFiles: true, OutDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Version() != "1.2.3" {
		t.Errorf("version %s, want the chart's own 1.2.3", c.Version())
	}
	if got := strings.Join(c.ValuesFiles, ","); got != "env/a.yaml,env/b.yaml" {
		t.Errorf("merged files %s", got)
	}
	ch, err := loader.Load(c.Path)
	if err != nil {
		t.Fatal(err)
	}
	img := ch.Values["image"].(map[string]any)
	if ch.Values["message"] != "from-b" || ch.Values["extra"] != "a" || img["tag"] != "2.0" || img["repository"] != "registry.example/app" {
		t.Errorf("merged values: %v", ch.Values)
	}

	again, err := helm.Package(root, "charts/app", helm.PackageOptions{
		ValuesFiles: []string{"env/a.yaml", "env/b.yaml"}, OutDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest != c.Digest {
		t.Errorf("packaging the same tree twice must give the same digest: %s vs %s", again.Digest, c.Digest)
	}
}

func TestPackage_Errors(t *testing.T) {
	root := t.TempDir()
	chartrepo.WriteChart(t, root, "app", "1.0.0")
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "values.yaml"), "a: 1\n")
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "deps/Chart.yaml"), "apiVersion: v2\nname: deps\nversion: 1.0.0\ndependencies:\n- name: redis\n  version: 1.x\n  repository: https://charts.example\n")
	for _, tc := range []struct {
		chart  string
		values []string
		want   string
	}{
		{"missing", nil, "does not exist"},
		{"../x", nil, "relative path inside the source"},
		{"app", []string{"nope.yaml"}, "set spec.ignoreMissingValuesFiles"},
		{"app", []string{"escape/values.yaml"}, "leaves the source"},
		{"deps", nil, "helm dependency build"},
	} {
		_, err := helm.Package(root, tc.chart, helm.PackageOptions{ValuesFiles: tc.values, OutDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Package(%q, %v) = %v, want %q", tc.chart, tc.values, err, tc.want)
		}
	}
}

func TestPackage_VersionMetadata(t *testing.T) {
	root := t.TempDir()
	chartrepo.WriteChart(t, root, "app", "1.0.0")
	c, err := helm.Package(root, "app", helm.PackageOptions{VersionMetadata: "0123456789ab", OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if c.Version() != "1.0.0+0123456789ab" || filepath.Base(c.Path) != "app-1.0.0+0123456789ab.tgz" {
		t.Errorf("version %s at %s", c.Version(), c.Path)
	}
}

func TestRepackage_MergesValuesFilesFromTheChart(t *testing.T) {
	root := t.TempDir()
	dir := chartrepo.WriteChart(t, root, "app", "1.0.0")
	writeFile(t, filepath.Join(dir, "values-prod.yaml"), "replicaCount: 3\n")
	c, err := helm.Package(root, "app", helm.PackageOptions{OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	out, err := helm.Repackage(c, helm.PackageOptions{ValuesFiles: []string{"values-prod.yaml"}, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := loader.Load(out.Path)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Values["replicaCount"] != float64(3) || ch.Values["message"] != "hello" {
		t.Errorf("merged values: %v", ch.Values)
	}
	_, err = helm.Repackage(c, helm.PackageOptions{ValuesFiles: []string{"missing.yaml"}, OutDir: t.TempDir()})
	if !errors.Is(err, helm.ErrInvalidReference) {
		t.Errorf("missing values file: %v", err)
	}
	same, err := helm.Repackage(c, helm.PackageOptions{OutDir: t.TempDir()})
	if err != nil || same != c {
		t.Errorf("nothing to merge must return the chart as it is: %v", err)
	}
}
