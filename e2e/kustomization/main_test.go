// Package kustomization drives the Kustomization reconciler against a real
// control plane (with kwok nodes, so that Deployments become Available) and
// a real git server on 127.0.0.1: what it applies, prunes, reverts and
// refuses, and what it says when the input is bad.
package kustomization

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
