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
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
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

// rediscoveringMapper looks a kind up again after rediscovering the
// cluster's kinds when it is not found: its CRD may have been created since
// the cache was filled (by hand, another release, a Kustomization), and the
// cached discovery alone would not see it until the process restarts. A kind
// still missing after that is remembered for a while, so that the objects of
// a deleted CRD (an uninstall) do not each cost a rediscovery.
type rediscoveringMapper struct {
	apimeta.RESTMapper
	deferred *restmapper.DeferredDiscoveryRESTMapper

	mu      sync.Mutex
	missing map[schema.GroupKind]time.Time
}

// missingFor is how long a kind not found after a rediscovery is not looked
// for again.
const missingFor = 10 * time.Second

func (m *rediscoveringMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*apimeta.RESTMapping, error) {
	mapping, err := m.RESTMapper.RESTMapping(gk, versions...)
	if apimeta.IsNoMatchError(err) && m.rediscover(gk) {
		mapping, err = m.RESTMapper.RESTMapping(gk, versions...)
		m.remember(gk, err)
	}
	return mapping, err
}

func (m *rediscoveringMapper) RESTMappings(gk schema.GroupKind, versions ...string) ([]*apimeta.RESTMapping, error) {
	mappings, err := m.RESTMapper.RESTMappings(gk, versions...)
	if apimeta.IsNoMatchError(err) && m.rediscover(gk) {
		mappings, err = m.RESTMapper.RESTMappings(gk, versions...)
		m.remember(gk, err)
	}
	return mappings, err
}

// rediscover forgets the cached kinds, unless gk was just found missing.
func (m *rediscoveringMapper) rediscover(gk schema.GroupKind) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.missing[gk]; ok && time.Since(t) < missingFor {
		return false
	}
	m.deferred.Reset()
	return true
}

func (m *rediscoveringMapper) remember(gk schema.GroupKind, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if apimeta.IsNoMatchError(err) {
		m.missing[gk] = time.Now()
	} else {
		delete(m.missing, gk)
	}
}

// Reset forgets the cached kinds (after a chart's CRDs were created).
func (m *rediscoveringMapper) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.missing)
	m.deferred.Reset()
}

// ToRESTConfig returns a copy of the REST config.
func (g *ClientGetter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.cfg), nil }

func (g *ClientGetter) init() error {
	g.shared.once.Do(func() {
		dc, err := discovery.NewDiscoveryClientForConfig(rest.CopyConfig(g.cfg))
		if err != nil {
			g.shared.err = fmt.Errorf("making a discovery client: %w", err)
			return
		}
		g.shared.discovery = memory.NewMemCacheClient(dc)
		deferred := restmapper.NewDeferredDiscoveryRESTMapper(g.shared.discovery)
		g.shared.mapper = &rediscoveringMapper{
			RESTMapper: restmapper.NewShortcutExpander(deferred, g.shared.discovery, nil),
			deferred:   deferred,
			missing:    map[schema.GroupKind]time.Time{},
		}
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
