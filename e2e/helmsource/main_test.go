// Package helmsource drives the HelmRepository and HelmChart reconcilers
// against a real control plane, real chart repositories (HTTP and OCI) and a
// real git server on 127.0.0.1.
package helmsource

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
	harness.Main(m, &cluster, &reconciler)
}
