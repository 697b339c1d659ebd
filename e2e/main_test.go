// Package e2e drives the tether CLI and reconciler against a real control plane
// (kube-apiserver, etcd, controller-manager, scheduler and kwok nodes).
package e2e

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/apis"
)

var cluster *testcluster.Cluster

func TestMain(m *testing.M) {
	scheme := runtime.NewScheme()
	if err := apis.AddToScheme(scheme); err != nil {
		panic(err)
	}
	testcluster.Main(m, testcluster.Options{WithNodes: true, Scheme: scheme}, func(c *testcluster.Cluster) error {
		cluster = c
		c.OnStop(harness.RemoveBinaries)
		_, err := harness.Binaries()
		return err
	})
}
