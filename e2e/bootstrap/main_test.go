// Package bootstrap drives `tether bootstrap git` and `tether bootstrap
// github` against a real control plane (with kwok nodes, so that the
// reconciler Deployment becomes available), real Git servers on 127.0.0.1
// and a local stand-in for GitHub's API. The test's reconciler process does
// the reconciling that the in-cluster Deployment would do.
//
// Each test bootstraps into its own namespace; the install's cluster-scoped
// objects (CRDs, ClusterRoles) are shared, so a test suspends its
// GitRepository and Kustomization when it ends to leave them to the next.
package bootstrap

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
	harness.MainWith(m, func(o *testcluster.Options) { o.WithNodes = true }, &cluster, &reconciler)
}
