package kustomization

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/controller/consumer"
)

// clientCache makes the clients that apply: the reconciler's own, one per
// impersonated service account, one per remote kubeconfig. They read live
// state directly; none of them caches applied objects.
type clientCache struct {
	cfg        *rest.Config
	scheme     *runtime.Scheme
	mapper     apimeta.RESTMapper
	httpClient *http.Client

	mu      sync.Mutex
	clients map[string]client.Client
}

func newClientCache(cfg *rest.Config, scheme *runtime.Scheme, mapper apimeta.RESTMapper, hc *http.Client) *clientCache {
	return &clientCache{cfg: cfg, scheme: scheme, mapper: mapper, httpClient: hc, clients: map[string]client.Client{}}
}

// maxClients bounds the cache; past it the cache starts over, which only
// costs new connections.
const maxClients = 256

// forKustomization returns the client to apply ks with: the target cluster
// of spec.kubeConfig (else this one), as the service account sa (in ks's
// namespace) when set.
func (cc *clientCache) forKustomization(ctx context.Context, r client.Reader, ks *kustomizev1.Kustomization, sa string) (client.Client, error) {
	cfg, key, remote, err := consumer.RESTConfig(ctx, r, cc.cfg, ks.Namespace, ks.Spec.KubeConfig, sa)
	if err != nil {
		return nil, err
	}

	cc.mu.Lock()
	defer cc.mu.Unlock()
	if c, ok := cc.clients[key]; ok {
		return c, nil
	}
	if len(cc.clients) >= maxClients {
		clear(cc.clients)
	}
	hc, mapper := cc.httpClient, cc.mapper
	if cfg != cc.cfg {
		var err error
		if hc, err = rest.HTTPClientFor(cfg); err != nil {
			return nil, fmt.Errorf("making a client: %w", err)
		}
	}
	if remote {
		var err error
		if mapper, err = apiutil.NewDynamicRESTMapper(cfg, hc); err != nil {
			return nil, fmt.Errorf("reaching the cluster of spec.kubeConfig: %w", err)
		}
	}
	c, err := client.New(cfg, client.Options{Scheme: cc.scheme, Mapper: mapper, HTTPClient: hc})
	if err != nil {
		return nil, fmt.Errorf("making a client: %w", err)
	}
	cc.clients[key] = c
	return c, nil
}
