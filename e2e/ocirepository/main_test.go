// Package ocirepository drives the OCIRepository reconciler against a real
// control plane and an OCI registry (go-containerregistry's) on 127.0.0.1.
package ocirepository

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
