package bench

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// watcher follows Kustomizations and Deployments through informers, so that
// waiting for thousands of objects costs the apiserver one watch each rather
// than repeated lists.
type watcher struct {
	cache cache.Cache

	mu       sync.Mutex
	trackers []*tracker
}

func newWatcher(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme) (*watcher, error) {
	c, err := cache.New(cfg, cache.Options{Scheme: scheme, DefaultTransform: cache.TransformStripManagedFields()})
	if err != nil {
		return nil, err
	}
	w := &watcher{cache: c}
	for _, obj := range []client.Object{&kustomizev1.Kustomization{}, &appsv1.Deployment{}} {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return nil, err
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { w.observe(o) },
			UpdateFunc: func(_, o any) { w.observe(o) },
		}); err != nil {
			return nil, err
		}
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("the benchmark's informers did not sync")
	}
	return w, nil
}

func (w *watcher) observe(o any) {
	obj, ok := o.(client.Object)
	if !ok {
		return
	}
	now := time.Now()
	w.mu.Lock()
	trackers := slices.Clone(w.trackers)
	w.mu.Unlock()
	for _, t := range trackers {
		t.observe(obj, now)
	}
}

// tracker records when each of a set of objects first satisfies a condition.
type tracker struct {
	what  string
	kind  string // "Kustomization" or "Deployment"
	start time.Time
	cond  func(client.Object) bool

	mu      sync.Mutex
	pending map[string]bool          // namespace/name
	done    map[string]time.Duration // since start
	changed chan struct{}
}

// track starts recording, from now, when the objects keys (namespace/name) of
// kind satisfy cond, objects already in the cache included.
func (w *watcher) track(ctx context.Context, what, kind string, keys []string, cond func(client.Object) bool) (*tracker, error) {
	t := &tracker{what: what, kind: kind, start: time.Now(), cond: cond,
		pending: make(map[string]bool, len(keys)), done: make(map[string]time.Duration, len(keys)),
		changed: make(chan struct{}, 1)}
	for _, k := range keys {
		t.pending[k] = true
	}
	w.mu.Lock()
	w.trackers = append(w.trackers, t)
	w.mu.Unlock()
	var list client.ObjectList
	switch kind {
	case "Kustomization":
		list = &kustomizev1.KustomizationList{}
	case "Deployment":
		list = &appsv1.DeploymentList{}
	default:
		return nil, fmt.Errorf("cannot track kind %s", kind)
	}
	if err := w.cache.List(ctx, list); err != nil {
		return nil, err
	}
	now := time.Now()
	switch l := list.(type) {
	case *kustomizev1.KustomizationList:
		for i := range l.Items {
			t.observe(&l.Items[i], now)
		}
	case *appsv1.DeploymentList:
		for i := range l.Items {
			t.observe(&l.Items[i], now)
		}
	}
	return t, nil
}

// untrack stops feeding t.
func (w *watcher) untrack(t *tracker) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.trackers = slices.DeleteFunc(w.trackers, func(x *tracker) bool { return x == t })
}

func (t *tracker) observe(obj client.Object, now time.Time) {
	switch obj.(type) {
	case *kustomizev1.Kustomization:
		if t.kind != "Kustomization" {
			return
		}
	case *appsv1.Deployment:
		if t.kind != "Deployment" {
			return
		}
	default:
		return
	}
	key := obj.GetNamespace() + "/" + obj.GetName()
	t.mu.Lock()
	if !t.pending[key] || !t.cond(obj) {
		t.mu.Unlock()
		return
	}
	delete(t.pending, key)
	t.done[key] = now.Sub(t.start)
	t.mu.Unlock()
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// progress returns how many objects are done and how many are expected.
func (t *tracker) progress() (done, total int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.done), len(t.done) + len(t.pending)
}

// pendingKeys returns up to n keys not yet done.
func (t *tracker) pendingKeys(n int) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := make([]string, 0, len(t.pending))
	for k := range t.pending {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > n {
		keys = keys[:n]
	}
	return keys
}

// quantile returns the time by which a share q of the objects were done.
func (t *tracker) quantile(q float64) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	ds := make([]time.Duration, 0, len(t.done))
	for _, d := range t.done {
		ds = append(ds, d)
	}
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(q*float64(len(ds))+0.5) - 1
	i = max(0, min(i, len(ds)-1))
	return ds[i]
}

// wait blocks until every object is done, and returns the time from start to
// the last one. It calls tick every interval while waiting (progress logs),
// and gives up with an error when ctx ends or check fails (the reconciler
// died).
func (t *tracker) wait(ctx context.Context, tickEvery time.Duration, tick func(), check func() error) (time.Duration, error) {
	ticker := time.NewTicker(tickEvery)
	defer ticker.Stop()
	for {
		if done, total := t.progress(); done == total {
			return t.quantile(1), nil
		}
		select {
		case <-ctx.Done():
			done, total := t.progress()
			return 0, fmt.Errorf("%s: %d of %d done after %s (%w); pending: %s", t.what, done, total,
				time.Since(t.start).Round(time.Second), context.Cause(ctx), strings.Join(t.pendingKeys(5), ", "))
		case <-t.changed:
		case <-ticker.C:
			if check != nil {
				if err := check(); err != nil {
					return 0, fmt.Errorf("%s: %w", t.what, err)
				}
			}
			if tick != nil {
				tick()
			}
		}
	}
}

// kustomizationReady: Ready=True for the current generation, at revision.
func kustomizationReady(revision string) func(client.Object) bool {
	return func(o client.Object) bool {
		k := o.(*kustomizev1.Kustomization)
		return meta.IsReady(k) && k.Status.ObservedGeneration == k.Generation && k.Status.LastAppliedRevision == revision
	}
}

// reconcileHandled: status.lastHandledReconcileAt is v.
func reconcileHandled(v string) func(client.Object) bool {
	return func(o client.Object) bool {
		return o.(*kustomizev1.Kustomization).Status.LastHandledReconcileAt == v
	}
}

// deploymentAvailable is what kstatus calls Current for a Deployment: the
// controller saw the current generation, and all replicas are updated and
// available.
func deploymentAvailable(o client.Object) bool {
	d := o.(*appsv1.Deployment)
	if d.Status.ObservedGeneration < d.Generation {
		return false
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	if d.Status.UpdatedReplicas < want || d.Status.AvailableReplicas < want || d.Status.Replicas > want {
		return false
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
