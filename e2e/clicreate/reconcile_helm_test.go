package clicreate

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/testserver/chartrepo"
)

// helmFixture is a namespace with a chart repository on 127.0.0.1, a
// HelmRepository "charts" for it and a HelmRelease "app" of chart app 1.0.0
// installed (release version 1), all created with the CLI.
type helmFixture struct {
	ns string
	hr *helmv1.HelmRelease
}

func newHelmFixture(t *testing.T) *helmFixture {
	t.Helper()
	ns := testcluster.NewNamespace(t, cluster)
	reconciler.LogOnFailure(t)
	charts := chartrepo.New(t)
	charts.Publish("app", "1.0.0")
	tether(t, 0, "create", "source", "helm", "charts", "-n", ns, "--url", charts.URL(), "--interval", "1h")
	tether(t, 0, "create", "helmrelease", "app", "-n", ns, "--source", "HelmRepository/charts", "--chart", "app",
		"--chart-version", "1.0.0", "--interval", "1h")
	f := &helmFixture{ns: ns, hr: &helmv1.HelmRelease{}}
	f.hr.Namespace, f.hr.Name = ns, "app"
	if v := f.latest(t); v != 1 {
		t.Fatalf("after create the release is at version %d, want 1", v)
	}
	return f
}

// latest returns the version of the HelmRelease's newest release.
func (f *helmFixture) latest(t *testing.T) int {
	t.Helper()
	hr := harness.Get(t, cluster, f.hr)
	if hr.Status.History.Latest() == nil {
		return 0
	}
	return hr.Status.History.Latest().Version
}

// Nothing changed, so a plain reconcile leaves the release alone; --force
// upgrades it all the same.
func TestReconcileHelmRelease_ForceUpgradesAnUnchangedRelease(t *testing.T) {
	t.Parallel()
	f := newHelmFixture(t)

	tether(t, 0, "reconcile", "helmrelease", "app", "-n", f.ns)
	if v := f.latest(t); v != 1 {
		t.Fatalf("a reconcile without a change made release version %d", v)
	}

	tether(t, 0, "reconcile", "helmrelease", "app", "--force", "-n", f.ns)
	hr := harness.Get(t, cluster, f.hr)
	if v := f.latest(t); v != 2 {
		t.Errorf("--force: release version %d, want 2 (history %v)", v, hr.Status.History)
	}
	if hr.Status.LastHandledForceAt == "" || hr.Status.LastHandledForceAt != hr.Status.LastHandledReconcileAt {
		t.Errorf("--force not recorded: lastHandledForceAt %q, lastHandledReconcileAt %q",
			hr.Status.LastHandledForceAt, hr.Status.LastHandledReconcileAt)
	}
	if !meta.IsReady(hr) {
		t.Errorf("not Ready after the forced upgrade: %s", harness.Conditions(hr))
	}
}

// An upgrade that fails (the API server refuses replicas -1) exhausts the
// default remediation (no retries): a reconcile does not try again, a
// reconcile --reset does, and says it failed with exit 1.
func TestReconcileHelmRelease_ResetRetriesAnExhaustedRelease(t *testing.T) {
	t.Parallel()
	f := newHelmFixture(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("replicaCount: -1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tether(t, 0, "create", "helmrelease", "app", "-n", f.ns, "--source", "HelmRepository/charts", "--chart", "app",
		"--chart-version", "1.0.0", "--interval", "1h", "--values", bad, "--wait=false")
	harness.WaitFor(t, cluster, f.hr, "the failed upgrade to stall", func(hr *helmv1.HelmRelease) bool {
		return meta.IsStalled(hr) && hr.Status.ObservedGeneration == hr.Generation && hr.Status.UpgradeFailures == 1
	})
	if v := f.latest(t); v != 2 {
		t.Fatalf("after the failed upgrade: release version %d, want 2", v)
	}

	res := tether(t, 1, "reconcile", "helmrelease", "app", "-n", f.ns)
	if v := f.latest(t); v != 2 {
		t.Errorf("a reconcile without --reset tried the exhausted release again: version %d\n%s", v, res.Stderr)
	}

	res = tether(t, 1, "reconcile", "helmrelease", "app", "--reset", "-n", f.ns)
	hr := harness.Get(t, cluster, f.hr)
	if v := f.latest(t); v != 3 {
		t.Errorf("--reset: release version %d, want 3 (one more attempt)\n%s", v, res.Stderr)
	}
	if hr.Status.LastHandledResetAt == "" || hr.Status.LastHandledResetAt != hr.Status.LastHandledReconcileAt {
		t.Errorf("--reset not recorded: lastHandledResetAt %q, lastHandledReconcileAt %q",
			hr.Status.LastHandledResetAt, hr.Status.LastHandledReconcileAt)
	}
	if hr.Status.UpgradeFailures != 1 {
		t.Errorf("after the reset and one more failure: upgrade failures %d, want 1", hr.Status.UpgradeFailures)
	}
	mustContain(t, "stderr", res.Stderr, "replicas")
}
