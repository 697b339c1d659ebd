// Package helm runs Helm releases with the Helm v4 SDK: it makes an action
// configuration for a namespace (release records in Secrets, clients from a
// rest.Config, which may impersonate a service account), and wraps install,
// upgrade, test, rollback and uninstall with the options of a HelmRelease. It
// also composes values, post-renders with kustomize, recovers releases left
// pending, and compares a release's objects with the cluster (drift). It knows
// nothing of controllers: the HelmRelease reconciler and tests drive it.
package helm

import (
	"fmt"
	"log/slog"
	"sync"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// FieldManager is the server-side apply field manager of the objects Helm
// applies. Drift correction applies as the same manager, so that a later
// upgrade still owns every field it set.
const FieldManager = "helm"

// StorageDriver is where release records are kept: Secrets in the storage
// namespace.
const StorageDriver = "secret"

var setFieldManager sync.Once

// ClientGetter gives Helm the clients for one cluster and identity. Its
// discovery cache and REST mapper are shared by the getters made from it with
// ForNamespace, so that actions do not rediscover the API on every run.
type ClientGetter struct {
	cfg       *rest.Config
	namespace string
	shared    *sharedDiscovery
}

type sharedDiscovery struct {
	once      sync.Once
	discovery discovery.CachedDiscoveryInterface
	mapper    apimeta.RESTMapper
	err       error
}

// NewClientGetter returns a getter for cfg (copy it and set Impersonate to
// act as a service account) whose default namespace is namespace.
func NewClientGetter(cfg *rest.Config, namespace string) *ClientGetter {
	return &ClientGetter{cfg: rest.CopyConfig(cfg), namespace: namespace, shared: &sharedDiscovery{}}
}

// ForNamespace returns a getter for the same cluster and identity, sharing
// the discovery cache, whose default namespace is namespace.
func (g *ClientGetter) ForNamespace(namespace string) *ClientGetter {
	return &ClientGetter{cfg: g.cfg, namespace: namespace, shared: g.shared}
}

// staleOnMiss is a cached discovery client that never says it is fresh: the
// deferred REST mapper then rediscovers when a kind is not found, rather
// than failing until the process restarts for a CRD created (by another
// release, a Kustomization, by hand) after the cache was filled. Misses are
// rare, so each costs a rediscovery.
type staleOnMiss struct{ discovery.CachedDiscoveryInterface }

func (staleOnMiss) Fresh() bool { return false }

// ToRESTConfig returns a copy of the REST config.
func (g *ClientGetter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.cfg), nil }

func (g *ClientGetter) init() error {
	g.shared.once.Do(func() {
		dc, err := discovery.NewDiscoveryClientForConfig(rest.CopyConfig(g.cfg))
		if err != nil {
			g.shared.err = fmt.Errorf("making a discovery client: %w", err)
			return
		}
		g.shared.discovery = staleOnMiss{memory.NewMemCacheClient(dc)}
		// The deferred mapper rediscovers when a kind is not found, so
		// kinds defined by CRDs installed later are found.
		g.shared.mapper = restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(g.shared.discovery), g.shared.discovery, nil)
	})
	return g.shared.err
}

// ToDiscoveryClient returns the shared, memory-cached discovery client.
func (g *ClientGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	if err := g.init(); err != nil {
		return nil, err
	}
	return g.shared.discovery, nil
}

// ToRESTMapper returns the shared REST mapper.
func (g *ClientGetter) ToRESTMapper() (apimeta.RESTMapper, error) {
	if err := g.init(); err != nil {
		return nil, err
	}
	return g.shared.mapper, nil
}

// ToRawKubeConfigLoader returns a loader whose only use is the default
// namespace: the REST config comes from ToRESTConfig.
func (g *ClientGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return namespaceConfig{cfg: g.cfg, namespace: g.namespace}
}

type namespaceConfig struct {
	cfg       *rest.Config
	namespace string
}

func (n namespaceConfig) RawConfig() (clientcmdapi.Config, error) { return clientcmdapi.Config{}, nil }
func (n namespaceConfig) ClientConfig() (*rest.Config, error)     { return rest.CopyConfig(n.cfg), nil }
func (n namespaceConfig) Namespace() (string, bool, error)        { return n.namespace, true, nil }
func (n namespaceConfig) ConfigAccess() clientcmd.ConfigAccess {
	return clientcmd.NewDefaultPathOptions()
}

// NewConfiguration returns a Helm action configuration whose releases live
// in releaseNamespace and whose records are Secrets in storageNamespace.
func NewConfiguration(getter *ClientGetter, releaseNamespace, storageNamespace string, logger *slog.Logger) (*action.Configuration, error) {
	setFieldManager.Do(func() { kube.ManagedFieldsManager = FieldManager })
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(logger.Handler()))
	if err := cfg.Init(getter.ForNamespace(releaseNamespace), storageNamespace, StorageDriver); err != nil {
		return nil, fmt.Errorf("initialising Helm for namespace %s: %w", releaseNamespace, err)
	}
	if kc, ok := cfg.KubeClient.(*kube.Client); ok {
		kc.Namespace = releaseNamespace
	}
	return cfg, nil
}
