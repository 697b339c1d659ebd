// Package bucket drives the Bucket reconciler against a real control plane and
// a real S3 server (versitygw) on 127.0.0.1.
package bucket

import (
	"fmt"
	"os"
	"testing"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/testserver/s3server"
)

var (
	cluster    *testcluster.Cluster
	reconciler *harness.Reconciler
)

func TestMain(m *testing.M) {
	// Build (or find) versitygw before the clock of any test starts.
	if _, err := s3server.Binary(); err != nil {
		fmt.Fprintf(os.Stderr, "versitygw: %v\n", err)
		os.Exit(1)
	}
	harness.Main(m, &cluster, &reconciler, "--artifact-max-size=1Mi", "--artifact-max-files=20")
}
