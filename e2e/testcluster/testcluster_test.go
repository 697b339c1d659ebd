package testcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// startForTest starts a cluster that the test stops itself (to check what Stop
// leaves), with a cleanup in case the test fails first.
func startForTest(t *testing.T, opts Options) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Minute) // a cold build of the binaries included
	defer cancel()
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	return c
}

func TestCluster_WithNodes_RunsDeploymentsAndStopsEverything(t *testing.T) {
	c := startForTest(t, Options{WithNodes: true})
	t.Logf("kube-apiserver ready after %s, nodes Ready after %s", c.APIServerReady.Round(time.Millisecond), c.NodesReady.Round(time.Millisecond))

	pids := c.Processes()
	want := []string{nameControllerManager, nameScheduler, nameKwok}
	if runtime.GOOS == "linux" {
		want = append(want, nameAPIServer, nameEtcd)
	}
	for _, name := range want {
		if pids[name] == 0 {
			t.Errorf("Processes() = %v, no %s", pids, name)
		}
	}
	logRSS(t, pids)

	t.Run("ServerVersionIsThePinnedOne", func(t *testing.T) {
		want, err := KubernetesVersion()
		if err != nil {
			t.Fatal(err)
		}
		dc, err := discovery.NewDiscoveryClientForConfig(c.Config)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dc.ServerVersion()
		if err != nil {
			t.Fatal(err)
		}
		if got.GitVersion != want {
			t.Errorf("server version %s, want %s (hack/k8s-versions.env or TETHER_K8S_VERSION)", got.GitVersion, want)
		}
	})

	t.Run("DeploymentBecomesAvailable", func(t *testing.T) {
		ns := NewNamespace(t, c)
		labels := map[string]string{"app": "web"}
		deploy := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](2),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						TerminationGracePeriodSeconds: ptr.To[int64](0),
						Containers:                    []corev1.Container{{Name: "web", Image: "registry.invalid/web:1"}},
					},
				},
			},
		}
		if err := c.Client.Create(t.Context(), deploy); err != nil {
			t.Fatal(err)
		}
		created := time.Now()
		Eventually(t, 60*time.Second, 100*time.Millisecond, func() error {
			if err := c.Client.Get(t.Context(), client.ObjectKeyFromObject(deploy), deploy); err != nil {
				return err
			}
			for _, cond := range deploy.Status.Conditions {
				if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue && deploy.Status.AvailableReplicas == 2 {
					return nil
				}
			}
			return fmt.Errorf("deployment not Available: %d/2 available, conditions %v", deploy.Status.AvailableReplicas, deploy.Status.Conditions)
		})
		t.Logf("Deployment Available %s after creation", time.Since(created).Round(time.Millisecond))
	})

	t.Run("KubectlWorksWithTheKubeconfig", func(t *testing.T) {
		out, err := exec.CommandContext(t.Context(), c.BinDir+"/kubectl", "--kubeconfig", c.KubeconfigPath,
			"get", "nodes", "-o", "name").CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl get nodes: %v\n%s", err, out)
		}
		if got := strings.TrimSpace(string(out)); got != "node/kwok-node-0" {
			t.Errorf("kubectl get nodes = %q, want node/kwok-node-0", got)
		}
	})

	workDir := c.WorkDir
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for name, pid := range pids {
		if alive(pid) {
			t.Errorf("%s (pid %d) still running after Stop", name, pid)
		}
	}
	if left := findChildren(workDir); len(left) > 0 {
		t.Errorf("children still running after Stop: %v", left)
	}
	if _, err := os.Stat(workDir); !os.IsNotExist(err) {
		t.Errorf("work directory %s not removed by Stop (%v)", workDir, err)
	}
}

func TestCluster_ControlPlaneOnly_InstallsCRDs(t *testing.T) {
	c := startForTest(t, Options{CRDDirs: []string{"testdata/crds"}})
	t.Logf("kube-apiserver ready after %s", c.APIServerReady.Round(time.Millisecond))
	pids := c.Processes()
	if _, ok := pids[nameControllerManager]; ok {
		t.Errorf("Processes() = %v: a controller-manager without WithNodes", pids)
	}
	logRSS(t, pids)

	var crd apiextensionsv1.CustomResourceDefinition
	if err := c.Client.Get(t.Context(), client.ObjectKey{Name: "widgets.testcluster.tether.test"}, &crd); err != nil {
		t.Fatalf("CRD from Options.CRDDirs: %v", err)
	}
	t.Run("CustomResourceInNewNamespace", func(t *testing.T) {
		ns := NewNamespace(t, c) // no controllers: must not wait for a ServiceAccount
		w := &unstructured.Unstructured{}
		w.SetAPIVersion("testcluster.tether.test/v1")
		w.SetKind("Widget")
		w.SetNamespace(ns)
		w.SetName("w")
		if err := c.Client.Create(t.Context(), w); err != nil {
			t.Fatalf("creating a custom resource: %v", err)
		}
	})

	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for name, pid := range pids {
		if alive(pid) {
			t.Errorf("%s (pid %d) still running after Stop", name, pid)
		}
	}
}

func TestNamespacePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"TestFoo/Bar_baz": "testfoo-bar-baz-",
		"///":             "test-",
		"TestAVeryLongNameThatGoesOnAndOnAndOnForever": "testaverylongnamethatgoesonandonandonfor-",
	} {
		if got := namespacePrefix(in); got != want {
			t.Errorf("namespacePrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestApplyFlags_RejectsNonFlags(t *testing.T) {
	if err := applyFlags([]string{"v=2"}, nil); err == nil {
		t.Error("applyFlags accepted v=2")
	}
}

func logRSS(t *testing.T, pids map[string]int) {
	t.Helper()
	names := make([]string, 0, len(pids))
	for name := range pids {
		names = append(names, name)
	}
	sort.Strings(names)
	var total int64
	var parts []string
	for _, name := range names {
		rss, err := RSSBytes(pids[name])
		if err != nil {
			t.Logf("RSS of %s: %v", name, err)
			continue
		}
		total += rss
		parts = append(parts, name+" "+mib(rss))
	}
	t.Logf("RSS: %s; total %s", strings.Join(parts, ", "), mib(total))
}

func mib(b int64) string { return strconv.FormatInt(b>>20, 10) + " MiB" }
