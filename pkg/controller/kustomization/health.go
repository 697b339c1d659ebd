package kustomization

import (
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// pendingHealth is a health check under way: the objects not yet healthy,
// checked again on each requeue until they are, fail, or the deadline passes.
// It lives in memory only: after a restart the reconciler applies again (a
// no-op) and starts a new check.
type pendingHealth struct {
	key      string
	objs     []*unstructured.Unstructured
	client   client.Client
	started  time.Time
	deadline time.Time
}

// nextPoll checks quickly at first, when most objects become ready, then
// less often, at most every 5 s.
func (p *pendingHealth) nextPoll() time.Duration {
	d := time.Since(p.started) / 4
	d = max(d, time.Second)
	d = min(d, 5*time.Second)
	if left := time.Until(p.deadline); left > 0 && left < d {
		d = left + 10*time.Millisecond
	}
	return d
}

// pendingKey is what a health check belongs to: a change of generation,
// revision or a new reconcile request starts over with a fresh apply.
func pendingKey(ks *kustomizev1.Kustomization, revision string) string {
	req, _ := meta.ReconcileAnnotationValue(ks.GetAnnotations())
	return fmt.Sprintf("%d|%s|%s", ks.Generation, revision, req)
}

type healthTracker struct {
	mu      sync.Mutex
	pending map[types.NamespacedName]*pendingHealth
}

func newHealthTracker() *healthTracker {
	return &healthTracker{pending: map[types.NamespacedName]*pendingHealth{}}
}

func (t *healthTracker) get(name types.NamespacedName, key string) (*pendingHealth, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.pending[name]
	if !ok || p.key != key {
		return nil, false
	}
	return p, true
}

func (t *healthTracker) set(name types.NamespacedName, p *pendingHealth) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending[name] = p
}

func (t *healthTracker) forget(name types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pending, name)
}
