// Package consumer holds the steps that the reconcilers consuming sources
// share: Kustomization and HelmRelease. Both wait for their dependencies
// (of either kind), refuse cross-namespace references when the reconciler
// is locked down, act as a service account or in a remote cluster, and are
// enqueued when what they use changes.
package consumer

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/controller/lifecycle"
	"github.com/tether-gitops/tether/pkg/controller/sourcectl"
)

// ObjectKey is the field-index key of an object another one refers to.
func ObjectKey(kind, namespace, name string) string { return kind + "/" + namespace + "/" + name }

// CheckDependencies returns an error naming the first dependency (entries
// without kind are of referrerKind) that is not Ready at its generation; a
// Kustomization must also have applied the revision its source has now, so
// that after a commit its dependents wait for it to apply that commit.
func CheckDependencies(ctx context.Context, c client.Reader, referrerKind, namespace string, deps []meta.DependencyReference) error {
	for _, d := range deps {
		kind := d.KindOr(referrerKind)
		key := client.ObjectKey{Namespace: d.NamespaceOr(namespace), Name: d.Name}
		var dep lifecycle.Object
		switch kind {
		case kustomizev1.KustomizationKind:
			dep = &kustomizev1.Kustomization{}
		case helmv1.HelmReleaseKind:
			dep = &helmv1.HelmRelease{}
		default:
			return fmt.Errorf("dependency %s %s: kind must be Kustomization or HelmRelease", kind, key)
		}
		if err := c.Get(ctx, key, dep); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("dependency %s %s not found", kind, key)
			}
			return fmt.Errorf("dependency %s %s: %w", kind, key, err)
		}
		if dep.GetGeneration() != dep.GetObservedGeneration() || !meta.IsReady(dep) {
			return fmt.Errorf("dependency %s %s is not ready", kind, key)
		}
		ks, ok := dep.(*kustomizev1.Kustomization)
		if !ok {
			continue
		}
		if ks.Status.LastAppliedRevision != ks.Status.LastAttemptedRevision {
			return fmt.Errorf("dependency %s %s is not ready: revision %s is being applied", kind, key, ks.Status.LastAttemptedRevision)
		}
		rev, err := sourceRevision(ctx, c, ks)
		if err != nil {
			return fmt.Errorf("dependency %s %s is not ready: %w", kind, key, err)
		}
		if rev != "" && ks.Status.LastAppliedRevision != rev {
			suspended := ""
			if ks.Spec.Suspend {
				suspended = " (it is suspended: resume it)"
			}
			return fmt.Errorf("dependency %s %s is not ready: its source has revision %s, it has applied %q%s", kind, key, rev, ks.Status.LastAppliedRevision, suspended)
		}
	}
	return nil
}

// sourceRevision is the revision of the artifact ks's source has now ("" for
// a source kind it cannot have, which its own reconcile reports).
func sourceRevision(ctx context.Context, c client.Reader, ks *kustomizev1.Kustomization) (string, error) {
	ref := ks.Spec.SourceRef
	src, ok := sourcev1.NewKustomizationSource(ref.Kind)
	if !ok {
		return "", nil
	}
	key := client.ObjectKey{Namespace: ref.NamespaceOr(ks.Namespace), Name: ref.Name}
	if err := c.Get(ctx, key, src); err != nil {
		if apierrors.IsNotFound(err) {
			return "", fmt.Errorf("its source %s %s is not found", ref.Kind, key)
		}
		return "", fmt.Errorf("reading its source %s %s: %w", ref.Kind, key, err)
	}
	if src.GetArtifact() == nil {
		return "", fmt.Errorf("its source %s %s has no artifact yet", ref.Kind, key)
	}
	return src.GetArtifact().Revision, nil
}

// CheckNamespaces enforces --no-cross-namespace-refs: source names the
// spec field of the source reference (its namespace sourceNamespace), and
// dependencies may not leave namespace either.
func CheckNamespaces(namespace, source, sourceNamespace string, deps []meta.DependencyReference) error {
	if sourceNamespace != "" && sourceNamespace != namespace {
		return fmt.Errorf("%s names namespace %q: cross-namespace references are disabled on this reconciler", source, sourceNamespace)
	}
	for _, d := range deps {
		if d.Namespace != "" && d.Namespace != namespace {
			return fmt.Errorf("spec.dependsOn %s names namespace %q: cross-namespace references are disabled on this reconciler", d.Name, d.Namespace)
		}
	}
	return nil
}

// ServiceAccount is the account to act as: the spec's, else the
// reconciler's --default-service-account, else none (its own).
func ServiceAccount(spec, def string) string {
	if spec != "" {
		return spec
	}
	return def
}

// RESTConfig returns the configuration to act with in namespace: base, or
// the cluster of the kubeConfig Secret, impersonating the service account
// sa of namespace when set. key identifies it, for caches.
func RESTConfig(ctx context.Context, r client.Reader, base *rest.Config, namespace string, kubeConfig *meta.KubeConfigReference, sa string) (cfg *rest.Config, key string, remote bool, err error) {
	cfg, key = base, "local"
	if kubeConfig != nil {
		remote = true
		ref := kubeConfig.SecretRef
		s, err := sourcectl.Secret(ctx, r, namespace, ref.Name, "spec.kubeConfig.secretRef")
		if err != nil {
			return nil, "", true, err
		}
		data, field := kubeconfigData(s.Data, ref.Key)
		if data == nil {
			return nil, "", true, fmt.Errorf("secret %q has no %s key: set spec.kubeConfig.secretRef.key", ref.Name, field)
		}
		if cfg, err = clientcmd.RESTConfigFromKubeConfig(data); err != nil {
			return nil, "", true, fmt.Errorf("secret %q, key %s: invalid kubeconfig: %w", ref.Name, field, err)
		}
		key = fmt.Sprintf("remote/%s/%s/%s", s.Namespace, s.Name, s.ResourceVersion)
	}
	if sa != "" {
		cfg = rest.CopyConfig(cfg)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: fmt.Sprintf("system:serviceaccount:%s:%s", namespace, sa)}
		key += "/sa/" + namespace + "/" + sa
	}
	return cfg, key, remote, nil
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

// EnqueueBy maps an object of kind to the objects of list whose field index
// names it (ObjectKey).
func EnqueueBy(c client.Reader, newList func() meta.ReconcilableList, index, kind string) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		list := newList()
		if err := c.List(ctx, list.(client.ObjectList), client.MatchingFields{index: ObjectKey(kind, o.GetNamespace(), o.GetName())}); err != nil {
			log.FromContext(ctx).Error(err, "listing the objects that use an object", "kind", kind, "name", o.GetName())
			return nil
		}
		items := list.GetItems()
		reqs := make([]reconcile.Request, 0, len(items))
		for _, item := range items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: item.GetNamespace(), Name: item.GetName()}})
		}
		return reqs
	})
}

// ReadyChangedPredicate passes updates of a dependency that became Ready,
// or stayed Ready at a new generation or applied state: when its dependents
// may proceed.
type ReadyChangedPredicate struct{ predicate.Funcs }

func (ReadyChangedPredicate) Create(event.CreateEvent) bool { return false }
func (ReadyChangedPredicate) Delete(event.DeleteEvent) bool { return false }
func (ReadyChangedPredicate) Update(e event.UpdateEvent) bool {
	oldO, ok1 := e.ObjectOld.(meta.Reconcilable)
	newO, ok2 := e.ObjectNew.(meta.Reconcilable)
	if !ok1 || !ok2 {
		return false
	}
	return meta.IsReady(newO) && (!meta.IsReady(oldO) || oldO.GetObservedGeneration() != newO.GetObservedGeneration() ||
		appliedState(oldO) != appliedState(newO))
}

// appliedState is what a dependency last applied: a Kustomization's
// revision, a HelmRelease's release digest.
func appliedState(o meta.Reconcilable) string {
	switch v := o.(type) {
	case *kustomizev1.Kustomization:
		return v.Status.LastAppliedRevision
	case *helmv1.HelmRelease:
		if s := v.Status.History.Latest(); s != nil {
			return s.Digest
		}
	}
	return ""
}

// Target is a cluster and an identity to act as: its REST config, and a
// client that reads live state directly (applied objects are never cached).
type Target struct {
	Config *rest.Config
	Client client.Client
}

// Targets keeps one Target per cluster and identity, so that connections
// and discovery are reused across reconciles.
type Targets struct {
	base       *rest.Config
	scheme     *runtime.Scheme
	mapper     apimeta.RESTMapper
	httpClient *http.Client

	mu sync.Mutex
	m  map[string]*Target
}

// maxTargets bounds the cache; past it the cache starts over, which only
// costs new connections.
const maxTargets = 256

// NewTargets makes targets from base, the reconciler's own configuration,
// whose mapper and HTTP client serve the local cluster as itself.
func NewTargets(base *rest.Config, scheme *runtime.Scheme, mapper apimeta.RESTMapper, hc *http.Client) *Targets {
	return &Targets{base: base, scheme: scheme, mapper: mapper, httpClient: hc, m: map[string]*Target{}}
}

// For returns the target of an object in namespace: the cluster of its
// kubeConfig Secret (else this one), as the service account sa when set.
func (t *Targets) For(ctx context.Context, r client.Reader, namespace string, kubeConfig *meta.KubeConfigReference, sa string) (*Target, error) {
	cfg, key, remote, err := RESTConfig(ctx, r, t.base, namespace, kubeConfig, sa)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if tg, ok := t.m[key]; ok {
		return tg, nil
	}
	if len(t.m) >= maxTargets {
		clear(t.m)
	}
	hc, mapper := t.httpClient, t.mapper
	if cfg != t.base {
		if hc, err = rest.HTTPClientFor(cfg); err != nil {
			return nil, fmt.Errorf("making a client: %w", err)
		}
	}
	if remote {
		if mapper, err = apiutil.NewDynamicRESTMapper(cfg, hc); err != nil {
			return nil, fmt.Errorf("reaching the cluster of spec.kubeConfig: %w", err)
		}
	}
	c, err := client.New(cfg, client.Options{Scheme: t.scheme, Mapper: mapper, HTTPClient: hc})
	if err != nil {
		return nil, fmt.Errorf("making a client: %w", err)
	}
	tg := &Target{Config: cfg, Client: c}
	t.m[key] = tg
	return tg, nil
}
