package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/reconciler"
)

func TestReconciler_RefusesToStartWithoutCRDs(t *testing.T) {
	if len(tetherCRDNames(t)) != 0 {
		t.Fatal("test needs a cluster without Tether CRDs")
	}
	dir, err := harness.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	out, err := runBinary(dir+"/tether-reconciler", "--kubeconfig", cluster.KubeconfigPath, "--storage-path", t.TempDir(),
		"--metrics-addr", "0", "--health-addr", "127.0.0.1:0", "--storage-addr", "127.0.0.1:0")
	if err == nil {
		t.Fatal("reconciler started without its CRDs")
	}
	if !strings.Contains(out, "are not installed: run `tether install`") || !strings.Contains(out, "GitRepository.source.tether.dev/v1") {
		t.Errorf("error does not say what is missing and what to do:\n%s", out)
	}
}

func TestReconciler_ServesProbesAndMetricsAndTakesTheLease(t *testing.T) {
	ns := testcluster.NewNamespace(t, cluster)
	if res := harness.Tether(t, cluster, "install", "--wait=false"); res.ExitCode != 0 {
		t.Fatalf("install: %s", res.Stderr)
	}
	t.Cleanup(func() { harness.Tether(t, cluster, "uninstall", "--yes") })
	r := harness.StartReconciler(t, cluster, "--runtime-namespace", ns, "--concurrent", "4")

	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + r.HealthAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s", path, resp.Status)
		}
	}

	var lease coordinationv1.Lease
	testcluster.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: reconciler.LeaderElectionID}, &lease)
		if err != nil {
			return err
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			return errorf("lease has no holder")
		}
		return nil
	})

	resp, err := http.Get("http://" + r.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "leader_election_master_status") {
		t.Errorf("metrics lack the leader election gauge:\n%.500s", body)
	}

	// SIGTERM: a clean exit that releases the lease for the next replica.
	if err := r.Stop(); err != nil {
		t.Fatalf("reconciler exited with %v after SIGTERM", err)
	}
	testcluster.Eventually(t, 10*time.Second, 200*time.Millisecond, func() error {
		if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: reconciler.LeaderElectionID}, &lease); err != nil {
			return err
		}
		if lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "" {
			return errorf("lease still held by %s after shutdown", *lease.Spec.HolderIdentity)
		}
		return nil
	})
}

func TestReconciler_RejectsBadFlags(t *testing.T) {
	dir, err := harness.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--concurrent", "0"}, {"--log-level", "loud"}} {
		out, err := runBinary(dir+"/tether-reconciler", append(args, "--kubeconfig", cluster.KubeconfigPath)...)
		if err == nil {
			t.Errorf("%v accepted", args)
		}
		if !strings.Contains(out, args[0]) {
			t.Errorf("%v: error does not name the flag: %s", args, out)
		}
	}
}
