package kustomization

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/controller/sourcectl"
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
	cfg, key := cc.cfg, "local"
	remote := ks.Spec.KubeConfig != nil
	if remote {
		ref := ks.Spec.KubeConfig.SecretRef
		s, err := sourcectl.Secret(ctx, r, ks.Namespace, ref.Name, "spec.kubeConfig.secretRef")
		if err != nil {
			return nil, err
		}
		data, field := kubeconfigData(s.Data, ref.Key)
		if data == nil {
			return nil, fmt.Errorf("secret %q has no %s key: set spec.kubeConfig.secretRef.key", ref.Name, field)
		}
		cfg, err = clientcmd.RESTConfigFromKubeConfig(data)
		if err != nil {
			return nil, fmt.Errorf("secret %q, key %s: invalid kubeconfig: %w", ref.Name, field, err)
		}
		key = fmt.Sprintf("remote/%s/%s/%s", s.Namespace, s.Name, s.ResourceVersion)
	}
	if sa != "" {
		cfg = rest.CopyConfig(cfg)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: fmt.Sprintf("system:serviceaccount:%s:%s", ks.Namespace, sa)}
		key += "/sa/" + ks.Namespace + "/" + sa
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

// kubeconfigData returns the kubeconfig in data under key, or under value or
// value.yaml when key is empty (the keys cluster tools write).
func kubeconfigData(data map[string][]byte, key string) ([]byte, string) {
	if key != "" {
		return data[key], key
	}
	for _, k := range []string{"value", "value.yaml"} {
		if v, ok := data[k]; ok {
			return v, k
		}
	}
	return nil, "value or value.yaml"
}
