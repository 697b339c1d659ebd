package helmrelease

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

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/controller/sourcectl"
	"github.com/tether-gitops/tether/pkg/helm"
)

// target is where, and as whom, a release is made: the Helm client getter
// and a client that reads live state (for drift detection).
type target struct {
	getter *helm.ClientGetter
	client client.Client
}

// clientCache keeps one target per cluster and identity, so that Helm's
// discovery cache and the HTTP connections are reused across reconciles.
type clientCache struct {
	cfg        *rest.Config
	scheme     *runtime.Scheme
	mapper     apimeta.RESTMapper
	httpClient *http.Client

	mu      sync.Mutex
	targets map[string]*target
}

const maxTargets = 256

func newClientCache(cfg *rest.Config, scheme *runtime.Scheme, mapper apimeta.RESTMapper, hc *http.Client) *clientCache {
	return &clientCache{cfg: cfg, scheme: scheme, mapper: mapper, httpClient: hc, targets: map[string]*target{}}
}

// forRelease returns the target of hr: the cluster of spec.kubeConfig (else
// this one), as the service account sa of hr's namespace when set.
func (cc *clientCache) forRelease(ctx context.Context, r client.Reader, hr *helmv1.HelmRelease, sa string) (*target, error) {
	cfg, key := cc.cfg, "local"
	remote := hr.Spec.KubeConfig != nil
	if remote {
		ref := hr.Spec.KubeConfig.SecretRef
		s, err := sourcectl.Secret(ctx, r, hr.Namespace, ref.Name, "spec.kubeConfig.secretRef")
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
		cfg.Impersonate = rest.ImpersonationConfig{UserName: fmt.Sprintf("system:serviceaccount:%s:%s", hr.Namespace, sa)}
		key += "/sa/" + hr.Namespace + "/" + sa
	}

	cc.mu.Lock()
	defer cc.mu.Unlock()
	if t, ok := cc.targets[key]; ok {
		return t, nil
	}
	if len(cc.targets) >= maxTargets {
		clear(cc.targets)
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
	t := &target{getter: helm.NewClientGetter(cfg, hr.GetReleaseNamespace()), client: c}
	cc.targets[key] = t
	return t, nil
}

// kubeconfigData returns the kubeconfig in data under key, or under value or
// value.yaml when key is empty.
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
