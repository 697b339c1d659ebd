package testcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// NodeAnnotation marks the Nodes that kwok manages (it ignores all others).
const NodeAnnotation = "kwok.x-k8s.io/node"

// controllersReadyTimeout bounds the wait for Nodes Ready when ctx has no deadline.
const controllersReadyTimeout = 2 * time.Minute

// startControllers starts kube-controller-manager, kube-scheduler and kwok, creates the
// Nodes and waits until they are Ready and the controller-manager is working.
func (c *Cluster) startControllers(ctx context.Context, opts Options) error {
	rootCA := c.dir("pki", "serving-ca.crt")
	if err := os.WriteFile(rootCA, c.Env.ControlPlane.APIServer.SecureServing.CA, 0o644); err != nil {
		return err
	}
	signerCert, signerKey := c.dir("pki", "signer.crt"), c.dir("pki", "signer.key")
	if err := writeSigningCA(signerCert, signerKey); err != nil {
		return fmt.Errorf("creating the cluster signing CA: %w", err)
	}
	kubeconfig := "--kubeconfig=" + c.KubeconfigPath
	// An empty kwok configuration (kwok's default stages), not the user's ~/.kwok/kwok.yaml.
	if err := os.WriteFile(c.dir("kwok.yaml"), nil, 0o644); err != nil {
		return err
	}

	components := []struct {
		name  string
		args  []string
		extra []string
	}{{
		name: nameControllerManager,
		args: []string{kubeconfig,
			"--leader-elect=false",
			"--secure-port=0",
			// true gives each controller its own ServiceAccount token: 5 s slower to start.
			"--use-service-account-credentials=false",
			// kwok gives pods their IPs; nothing allocates node CIDRs. The node
			// lifecycle controller can see kwok's nodes as not ready in the first
			// seconds, mark every pod Ready=False, and nothing (no kubelet) ever
			// marks them ready again: Deployments would never become Available.
			// (The cloud controllers are no longer in kube-controller-manager:
			// naming them is an error.)
			"--controllers=*,-node-ipam-controller,-node-lifecycle-controller",
			"--service-account-private-key-file=" + filepath.Join(c.Env.ControlPlane.APIServer.CertDir, "sa-signer.key"),
			"--root-ca-file=" + rootCA,
			"--cluster-signing-cert-file=" + signerCert,
			"--cluster-signing-key-file=" + signerKey,
		},
		extra: opts.ControllerManagerArgs,
	}, {
		name:  nameScheduler,
		args:  []string{kubeconfig, "--leader-elect=false", "--secure-port=0"},
		extra: opts.SchedulerArgs,
	}, {
		name: nameKwok,
		args: []string{kubeconfig,
			"--config=" + c.dir("kwok.yaml"),
			"--manage-all-nodes=false",
			"--manage-nodes-with-annotation-selector=" + NodeAnnotation + "=fake",
			"--cidr=10.244.0.0/16",
			"--node-ip=10.244.0.1",
		},
	}}
	for _, comp := range components {
		p, err := startProc(comp.name, filepath.Join(c.BinDir, comp.name), append(comp.args, comp.extra...), c.dir("logs"))
		if err != nil {
			return err
		}
		c.procs = append(c.procs, p)
		c.pids[comp.name] = p.pid()
	}

	for i := range opts.Nodes {
		if err := c.Client.Create(ctx, kwokNode("kwok-node-"+strconv.Itoa(i), opts.PodsPerNode)); err != nil {
			return fmt.Errorf("creating a kwok Node: %w", err)
		}
	}

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, controllersReadyTimeout)
		defer cancel()
	}
	err := poll(ctx, 100*time.Millisecond, func() error {
		for _, p := range c.procs {
			if err := p.exitedEarly(); err != nil {
				return stopPolling{err}
			}
		}
		if err := c.nodesReady(ctx); err != nil {
			return err
		}
		// The ServiceAccount controller works: the controller-manager is up.
		return c.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "default"}, &corev1.ServiceAccount{})
	})
	if err != nil {
		return fmt.Errorf("waiting for the kwok Nodes to be Ready and the controllers to work: %w (logs in %s)", err, c.dir("logs"))
	}
	return nil
}

func (c *Cluster) nodesReady(ctx context.Context) error {
	var nodes corev1.NodeList
	if err := c.Client.List(ctx, &nodes); err != nil {
		return err
	}
	for _, n := range nodes.Items {
		if n.Annotations[NodeAnnotation] != "fake" {
			continue
		}
		ready := false
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		if !ready {
			return fmt.Errorf("node %s is not Ready", n.Name)
		}
		// Admission taints a new Node not-ready; the node lifecycle controller,
		// which would lift it, is off (see the controller-manager flags).
		if len(n.Spec.Taints) > 0 {
			patch := client.MergeFrom(n.DeepCopy())
			n.Spec.Taints = nil
			if err := c.Client.Patch(ctx, &n, patch); err != nil {
				return fmt.Errorf("removing the taints of node %s: %w", n.Name, err)
			}
			return fmt.Errorf("node %s was tainted; removed", n.Name)
		}
	}
	return nil
}

// kwokNode is a Node that kwok manages: no taints, large allocatable, Ready once kwok
// has seen it.
func kwokNode(name string, pods int) *corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("1000"),
		corev1.ResourceMemory: resource.MustParse("4Ti"),
		corev1.ResourcePods:   *resource.NewQuantity(int64(pods), resource.DecimalSI),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{NodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"type":                   "kwok",
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"kubernetes.io/role":     "agent",
			},
		},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity,
			Phase:       corev1.NodeRunning,
			NodeInfo:    corev1.NodeSystemInfo{Architecture: "amd64", OperatingSystem: "linux"},
		},
	}
}

// stopPolling ends poll at once with its error.
type stopPolling struct{ error }

// poll runs cond until it returns nil, a stopPolling error, or ctx ends; the error then
// says how long it tried and what cond last returned.
func poll(ctx context.Context, interval time.Duration, cond func() error) error {
	begin := time.Now()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	attempts := 0
	for {
		attempts++
		err := cond()
		if err == nil {
			return nil
		}
		if stop, ok := errors.AsType[stopPolling](err); ok {
			return stop.error
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%d attempts in %s); last error: %w",
				context.Cause(ctx), attempts, time.Since(begin).Round(time.Millisecond), err)
		case <-ticker.C:
		}
	}
}
