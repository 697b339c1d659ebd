package helmrelease

import (
	"context"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/controller/consumer"
	"github.com/tether-gitops/tether/pkg/helm"
)

// target is where, and as whom, a release is made: the Helm client getter
// and a client that reads live state (for drift detection).
type target struct {
	getter *helm.ClientGetter
	client client.Client
}

// clientCache keeps one Helm client getter per cluster and identity, so that
// Helm's discovery cache is reused across reconciles.
type clientCache struct {
	targets *consumer.Targets

	mu      sync.Mutex
	getters map[*consumer.Target]*helm.ClientGetter
}

func newClientCache(targets *consumer.Targets) *clientCache {
	return &clientCache{targets: targets, getters: map[*consumer.Target]*helm.ClientGetter{}}
}

// forRelease returns the target of hr: the cluster of spec.kubeConfig (else
// this one), as the service account sa of hr's namespace when set.
func (cc *clientCache) forRelease(ctx context.Context, r client.Reader, hr *helmv1.HelmRelease, sa string) (*target, error) {
	t, err := cc.targets.For(ctx, r, hr.Namespace, hr.Spec.KubeConfig, sa)
	if err != nil {
		return nil, err
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	g, ok := cc.getters[t]
	if !ok {
		if len(cc.getters) >= 256 {
			clear(cc.getters) // the targets' cache starts over at the same size
		}
		g = helm.NewClientGetter(t.Config, hr.GetReleaseNamespace())
		cc.getters[t] = g
	}
	return &target{getter: g, client: t.Client}, nil
}
