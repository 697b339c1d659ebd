package validate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/testserver/chartrepo"
)

func TestValidate_TemplatesChartsInTheRepository(t *testing.T) {
	out, stderr, err := run(t, "testdata/charts", "--kubernetes-version", "1.35")
	if cmdutil.ExitCode(err) != 1 {
		t.Fatalf("exit code %d (%v), want 1", cmdutil.ExitCode(err), err)
	}
	golden(t, "charts-1.35.txt", out)
	for _, want := range []string{
		// valuesFrom a ConfigMap under the directory reaches the chart; a
		// CRD of the chart's crds/ checks the object it renders.
		`releases.yaml:3: HelmRelease apps/app: app/templates/extras.yaml: Gadget app: spec.colour: Unsupported value: "purple"`,
		// targetNamespace makes the release name and namespace.
		`releases.yaml:22: HelmRelease apps/bad-values: app/templates/deployment.yaml: Deployment team/team-bad-values: spec.replicas: Invalid value: "string"`,
		// A CRD under the directory adds its kind to .Capabilities.APIVersions.
		`releases.yaml:22: HelmRelease apps/bad-values: app/templates/extras.yaml: Widget team-bad-values: spec.size: Invalid value: "string"`,
		// Post-renderers run, and the template is still named.
		`releases.yaml:41: HelmRelease apps/patched: app/templates/deployment.yaml: Deployment apps/patched: unknown field "spec.replica"`,
		`releases.yaml:79: warning: HelmRelease apps/cluster-values: valuesFrom ConfigMap in-the-cluster is not defined under testdata/charts: templated without it`,
		`releases.yaml:85: HelmRelease apps/broken: rendering chart broken 0.1.0: broken/templates/configmap.yaml:6:19 executing`,
		// The chart sees the Kubernetes version chosen.
		`releases.yaml:98: HelmRelease apps/old: rendering chart old 0.1.0: chart requires kubeVersion: <1.25.0-0 which is incompatible with Kubernetes v1.35.4`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q", want)
		}
	}
	// app, bad-values, patched and cluster-values render: a Deployment, a
	// ConfigMap, a hook Job and a CRD each, a Widget and a Gadget for two.
	if !strings.Contains(stderr, "4 of 6 HelmReleases templated (20 objects), Kubernetes 1.35.4: 7 errors, 1 warnings") {
		t.Errorf("summary: %s", stderr)
	}
}

func TestValidate_ChartPathsAreUnderTheDirectoryItsGitWorkTreeOrSourceDir(t *testing.T) {
	other := t.TempDir()
	copyDir(t, "testdata/charts/clusters", filepath.Join(other, "clusters"))
	// Not under the directory, no Git work tree: not templated.
	out, _, _ := run(t, other, "--kubernetes-version", "1.35")
	if !strings.Contains(out, "warning: HelmRelease apps/app: chart ./charts/app from GitRepository fleet: path ./charts/app is not under "+other+": skipped templating (use --source-dir GitRepository/fleet=PATH for another checkout)") {
		t.Errorf("without --source-dir:\n%s", out)
	}
	if _, _, err := run(t, other, "--strict-charts"); cmdutil.ExitCode(err) != 1 {
		t.Errorf("--strict-charts: %v", err)
	}
	// --source-dir names the checkout of the GitRepository.
	out, _, _ = run(t, other, "--kubernetes-version", "1.35", "--source-dir", "GitRepository/apps/fleet=testdata/charts")
	if !strings.Contains(out, "HelmRelease apps/app: app/templates/extras.yaml: Gadget app") || strings.Contains(out, "is not under") {
		t.Errorf("with --source-dir:\n%s", out)
	}
	// A subdirectory of a Git work tree: the paths are under its top.
	repo := t.TempDir()
	copyDir(t, "testdata/charts", repo)
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, _, _ = run(t, filepath.Join(repo, "clusters"), "--kubernetes-version", "1.35")
	if !strings.Contains(out, "HelmRelease apps/app: app/templates/extras.yaml: Gadget app") || strings.Contains(out, "is not under") {
		t.Errorf("in a Git work tree:\n%s", out)
	}

	if _, _, err := run(t, other, "--source-dir", "HelmRepository/x=."); err == nil || !strings.Contains(err.Error(), "GitRepository or Bucket") {
		t.Errorf("--source-dir HelmRepository/x: %v", err)
	}
	if _, _, err := run(t, other, "--source-dir", "fleet"); err == nil || !strings.Contains(err.Error(), "KIND/NAME=PATH") {
		t.Errorf("--source-dir fleet: %v", err)
	}
}

func TestValidate_TemplatesChartsFromChartRepositories(t *testing.T) {
	srv := chartrepo.New(t)
	srv.Publish("app", "1.0.0")
	reg := chartrepo.NewRegistry(t)
	reg.Push("app", "1.0.0")
	authed := chartrepo.New(t, chartrepo.WithBasicAuth("user", "s3cret"))
	authed.Publish("app", "1.0.0")
	dir := t.TempDir()
	writeFile(t, dir, "sources.yaml", fmt.Sprintf(`apiVersion: source.tether.dev/v1
kind: HelmRepository
metadata:
  name: charts
spec:
  url: %s
---
apiVersion: source.tether.dev/v1
kind: HelmRepository
metadata:
  name: registry
spec:
  type: oci
  url: %s
  insecure: true
---
apiVersion: source.tether.dev/v1
kind: OCIRepository
metadata:
  name: app
spec:
  url: %s/app
  insecure: true
  ref:
    semver: 1.x
---
apiVersion: source.tether.dev/v1
kind: HelmRepository
metadata:
  name: down
spec:
  url: http://127.0.0.1:1
---
apiVersion: source.tether.dev/v1
kind: HelmRepository
metadata:
  name: private
spec:
  url: %s
  secretRef:
    name: credentials
---
# Credentials under the directory (in the clear, as in this test) are used.
apiVersion: source.tether.dev/v1
kind: HelmRepository
metadata:
  name: authed
spec:
  url: %s
  secretRef:
    name: authed-credentials
---
apiVersion: v1
kind: Secret
metadata:
  name: authed-credentials
stringData:
  username: user
  password: s3cret
`, srv.URL(), reg.URL(), reg.URL(), srv.URL(), authed.URL()))
	release := func(name, chart, version, source string, values string) string {
		return fmt.Sprintf(`---
apiVersion: helm.tether.dev/v1
kind: HelmRelease
metadata:
  name: %s
spec:
  chart:
    spec:
      chart: %s
      version: %q
      sourceRef:
        kind: HelmRepository
        name: %s
  values: {%s}
`, name, chart, version, source, values)
	}
	writeFile(t, dir, "releases.yaml", release("ok", "app", "1.x", "charts", "message: hi")+
		release("bad", "app", "", "charts", "replicaCount: three")+
		release("future", "app", "2.x", "charts", "")+
		release("oci", "app", "1.0.0", "registry", "")+
		release("down", "app", "", "down", "")+
		release("private", "app", "", "private", "")+
		release("authed", "app", "", "authed", "")+`---
apiVersion: helm.tether.dev/v1
kind: HelmRelease
metadata:
  name: ociref
spec:
  chartRef:
    kind: OCIRepository
    name: app
`)

	out, stderr, err := run(t, dir)
	if cmdutil.ExitCode(err) != 1 {
		t.Fatalf("exit code %d (%v), want 1\n%s%s", cmdutil.ExitCode(err), err, out, stderr)
	}
	file := filepath.ToSlash(filepath.Join(dir, "releases.yaml"))
	for _, want := range []string{
		file + `:16: HelmRelease bad: app/templates/deployment.yaml: Deployment bad: spec.replicas: Invalid value: "string"`,
		file + `:35: HelmRelease future: chart app from HelmRepository charts: no chart version matches: no version of chart "app" satisfies "2.x"`,
		file + `:63: warning: HelmRelease down: chart app from HelmRepository down not reachable: skipped templating: fetching the repository index: GET http://127.0.0.1:1/index.yaml:`,
		file + `:77: warning: HelmRelease private: chart app from HelmRepository private needs Secret credentials of its spec.secretRef, which is not under ` + dir + ` unencrypted: skipped templating`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	for _, ok := range []string{"ok", "oci", "ociref", "authed"} {
		if strings.Contains(out, "HelmRelease "+ok+":") {
			t.Errorf("problems with %s, which renders:\n%s", ok, out)
		}
	}
	// ok, bad, oci, ociref and authed render, each a ConfigMap and a
	// Deployment.
	if !strings.Contains(stderr, "5 of 8 HelmReleases templated (10 objects)") || !strings.Contains(stderr, ": 2 errors, 2 warnings") {
		t.Errorf("summary: %s", stderr)
	}
	// The index needs the credentials (the chart itself may come from the
	// download cache, by digest).
	if authed.Requests("/index.yaml") == 0 {
		t.Error("the repository with credentials was not asked")
	}

	// --strict-charts: what cannot be fetched fails the validation.
	out, _, _ = run(t, dir, "--strict-charts", "-o", "json")
	var res Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Errors != 4 || res.Warnings != 0 || res.HelmReleases != 8 || res.HelmReleasesTemplated != 5 || res.RenderedObjects != 10 {
		t.Errorf("--strict-charts: %+v", res)
	}

	// --offline: nothing is fetched, and nothing is said about it.
	before := srv.Requests("/index.yaml")
	out, stderr, err = run(t, dir, "--offline")
	if err != nil || out != "" || !strings.Contains(stderr, "0 of 8 HelmReleases templated") {
		t.Errorf("--offline: %v\n%s%s", err, out, stderr)
	}
	if srv.Requests("/index.yaml") != before {
		t.Error("--offline fetched the index")
	}
}

func writeFile(t *testing.T, dir, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}
