// Package clicreate drives the built tether binary against a real control
// plane with the reconciler running and real git servers on 127.0.0.1:
// create (sources, Kustomizations, Secrets for HTTPS and SSH), tree, trace,
// events, logs and validate; the create → get → suspend → resume loop and
// reconcile helmrelease --force/--reset, which need the nodes below.
package clicreate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
)

var (
	cluster    *testcluster.Cluster
	reconciler *harness.Reconciler
)

func TestMain(m *testing.M) {
	// Nodes, so that the Deployments of Helm releases become available.
	harness.MainWith(m, func(o *testcluster.Options) { o.WithNodes = true }, &cluster, &reconciler)
}

// tether runs the CLI and fails the test unless it exits with want.
func tether(t *testing.T, want int, args ...string) harness.Result {
	t.Helper()
	res := harness.Tether(t, cluster, args...)
	if res.ExitCode != want {
		t.Fatalf("tether %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), res.ExitCode, want, res.Stdout, res.Stderr)
	}
	return res
}

func mustContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s does not contain %q:\n%s", what, p, s)
		}
	}
}

// harnessTether runs the CLI without checking its exit code (for polling).
func harnessTether(t *testing.T, args ...string) harness.Result {
	t.Helper()
	return harness.Tether(t, cluster, args...)
}

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }
