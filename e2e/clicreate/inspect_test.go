package clicreate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/testserver/chartrepo"
)

func TestTreeTraceEvents_ShowWhatTheKustomizationApplied(t *testing.T) {
	t.Parallel()
	f := newAppFixture(t)

	res := tether(t, 0, "tree", "kustomization", "app", "-n", f.ns)
	mustContain(t, "tree", res.Stdout, "Kustomization/"+f.ns+"/app ("+f.revision+")", "├── ConfigMap/"+f.ns+"/farewell", "└── ConfigMap/"+f.ns+"/greeting")

	res = tether(t, 0, "tree", "ks", "app", "-n", f.ns, "-o", "json")
	var root struct {
		Kind     string
		Children []struct{ Kind, Name string }
	}
	if err := json.Unmarshal([]byte(res.Stdout), &root); err != nil || root.Kind != "Kustomization" || len(root.Children) != 2 {
		t.Errorf("tree -o json = %+v, %v", root, err)
	}

	res = tether(t, 0, "trace", "configmap/greeting", "-n", f.ns)
	mustContain(t, "trace", res.Stdout, "Object:", "ConfigMap/"+f.ns+"/greeting", "Kustomization: "+f.ns+"/app", "Path:          ./deploy",
		"Source:", "GitRepository/"+f.ns+"/app", "Revision:", f.revision)
	tether(t, 0, "create", "source", "git", "other", "-n", f.ns, "--url", "http://127.0.0.1:1/x", "--wait=false")
	res = tether(t, 1, "trace", "gitrepository", "other", "-n", f.ns)
	mustContain(t, "trace of an object created by hand", res.Stderr, "is not managed by Tether")

	// The events of the Kustomization (Applied, ReconciliationSucceeded)
	// come from the reconciler's recorder, asynchronously.
	testcluster.Eventually(t, 30*time.Second, 250*time.Millisecond, func() error {
		res := harnessTether(t, "events", "--for", "Kustomization/app", "-n", f.ns)
		if !strings.Contains(res.Stdout, "Kustomization/app") || !strings.Contains(res.Stdout, "Applied") {
			return errorf("events --for Kustomization/app:\n%s%s", res.Stdout, res.Stderr)
		}
		return nil
	})
	res = tether(t, 0, "events", "-n", f.ns)
	mustContain(t, "events", strings.SplitN(res.Stdout, "\n", 2)[0], "LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE")
}

func TestLogs_NoPodsIsAClearErrorAndLogFileIsFiltered(t *testing.T) {
	t.Parallel()
	f := newAppFixture(t)

	// The test cluster runs the reconciler as a process, not as a pod.
	res := tether(t, 1, "logs", "--reconciler-namespace", f.ns)
	mustContain(t, "logs without pods", res.Stderr, "no reconciler pods", "--log-file")

	testcluster.Eventually(t, 30*time.Second, 250*time.Millisecond, func() error {
		res := harnessTether(t, "logs", "--log-file", reconciler.LogPath, "--kind", "Kustomization", "--name", "app", "-n", f.ns)
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, "Kustomization/"+f.ns+"/app applied") {
			return errorf("logs --log-file:\n%s%s", res.Stdout, res.Stderr)
		}
		for _, line := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
			if !strings.Contains(line, " Kustomization/"+f.ns+"/app ") {
				return errorf("a line about another object: %s", line)
			}
		}
		return nil
	})
}

func TestValidate_FindsTheBrokenFileAndPassesTheGoodRepository(t *testing.T) {
	t.Parallel()
	res := tether(t, 0, "validate", "testdata/repo-good")
	mustContain(t, "validate good", res.Stderr, "0 errors")

	res = tether(t, 1, "validate", "testdata/repo-broken")
	mustContain(t, "validate broken", res.Stdout, "testdata/repo-broken/deploy/greeting.yaml:7: mapping values are not allowed in this context")
	mustContain(t, "validate broken", res.Stdout, "testdata/repo-broken/deploy/kustomization.yaml:1: kustomize build:")
}

// validate checks built-in kinds against the Kubernetes version asked for,
// and templates HelmReleases: a chart in the repository, and one fetched
// from a chart repository on 127.0.0.1.
func TestValidate_KubernetesVersionAndHelmReleaseCharts(t *testing.T) {
	t.Parallel()
	charts := chartrepo.New(t)
	charts.Publish("app", "1.0.0")
	dir := t.TempDir()
	copyTree(t, "testdata/repo-validate", dir)
	repo := "apiVersion: source.tether.dev/v1\nkind: HelmRepository\nmetadata:\n  name: charts\nspec:\n  url: " + charts.URL() + "\n"
	if err := os.WriteFile(filepath.Join(dir, "charts.yaml"), []byte(repo), 0o644); err != nil {
		t.Fatal(err)
	}

	res := tether(t, 1, "validate", dir, "--kubernetes-version", "1.35")
	mustContain(t, "validate", res.Stdout,
		dir+"/deploy/cronjob.yaml:1: batch/v1beta1 CronJob is not served by Kubernetes 1.35: use batch/v1",
		dir+"/cluster.yaml:22: HelmRelease greeter: greeter/templates/configmap.yaml: ConfigMap greeter: unknown field \"dat\"",
		dir+"/cluster.yaml:37: HelmRelease remote: app/templates/deployment.yaml: Deployment remote: spec.replicas: Invalid value: \"string\"")
	mustContain(t, "validate summary", res.Stderr, "2 of 2 HelmReleases templated", "Kubernetes 1.35.4: 3 errors, 0 warnings")

	// batch/v1beta1 was never in 1.37 either; --offline renders only the
	// chart of the repository, and says nothing of the other.
	res = tether(t, 1, "validate", dir, "--offline", "-o", "json")
	var out struct {
		Errors                int    `json:"errors"`
		Warnings              int    `json:"warnings"`
		HelmReleasesTemplated int    `json:"helmReleasesTemplated"`
		KubernetesVersion     string `json:"kubernetesVersion"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
		t.Fatalf("-o json: %v\n%s", err, res.Stdout)
	}
	if out.Errors != 2 || out.Warnings != 0 || out.HelmReleasesTemplated != 1 || out.KubernetesVersion != "v1.37.2" {
		t.Errorf("validate --offline -o json: %+v", out)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}
