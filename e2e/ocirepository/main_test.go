// Package ocirepository drives the OCIRepository reconciler against a real
// control plane and an OCI registry (go-containerregistry's) on 127.0.0.1.
package ocirepository

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/apis"
)

var (
	cluster    *testcluster.Cluster
	reconciler *harness.Reconciler
)

func TestMain(m *testing.M) {
	scheme := runtime.NewScheme()
	if err := apis.AddToScheme(scheme); err != nil {
		panic(err)
	}
	testcluster.Main(m, testcluster.Options{Scheme: scheme, CRDDirs: []string{crdDir()}}, func(c *testcluster.Cluster) error {
		cluster = c
		r, err := harness.Start(c, c.WorkDir, "--leader-elect=false")
		if err != nil {
			return fmt.Errorf("starting the reconciler: %w", err)
		}
		reconciler = r
		c.OnStop(r.Stop)
		return nil
	})
}

func crdDir() string {
	root, err := testcluster.RepoRoot()
	if err != nil {
		panic(err)
	}
	return root + "/manifests/crds"
}
