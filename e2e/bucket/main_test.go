// Package bucket drives the Bucket reconciler against a real control plane and
// a real S3 server (versitygw) on 127.0.0.1.
package bucket

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/apis"
	"github.com/tether-gitops/tether/pkg/testserver/s3server"
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
		// Build (or find) versitygw before the clock of any test starts.
		if _, err := s3server.Binary(); err != nil {
			return err
		}
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
