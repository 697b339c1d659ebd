// Package helmrelease drives the HelmRelease reconciler against a real
// control plane (with kwok nodes, so that Deployments become Available and
// test Jobs complete), a real chart repository over HTTP, a real OCI registry
// and a real git server on 127.0.0.1: what it installs, upgrades, tests,
// rolls back, corrects and uninstalls, and what it says when the input is
// bad.
package helmrelease

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
