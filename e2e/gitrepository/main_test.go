// Package gitrepository drives the GitRepository reconciler against a real
// control plane and real git servers (smart HTTP and SSH) on 127.0.0.1.
package gitrepository

import (
	"testing"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
)

var (
	cluster    *testcluster.Cluster
	reconciler *harness.Reconciler
)

func TestMain(m *testing.M) {
	harness.Main(m, &cluster, &reconciler, "--artifact-retention=2", "--artifact-max-size=4Mi", "--artifact-max-files=1000")
}
