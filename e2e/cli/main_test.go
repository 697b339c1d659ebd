// Package cli drives the built tether binary against a real control plane
// with the reconciler running and a real git server on 127.0.0.1: get,
// reconcile, suspend, resume, export, delete and completion of live names.
package cli

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
