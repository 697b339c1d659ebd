package kustomization

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/ssa"
)

// pendingHealth is a health check under way: the objects not yet healthy,
// polled by the healthTracker, outside the work queue, until they are,
// fail, or the deadline passes; then the Kustomization is enqueued to record
// the outcome. It lives in memory only: after a restart the reconciler
// applies again (a no-op) and starts a new check.
type pendingHealth struct {
	key      string
	objs     []*unstructured.Unstructured
	client   client.Client
	started  time.Time
	deadline time.Time

	// changed is what the apply changed, for the outcome's event; status is
	// what the reconcile set before the check, written with the progress or
	// the outcome.
	changed ssa.ChangeSet
	status  stashedStatus

	// Guarded by the tracker's mutex.
	next         time.Time
	checking     bool
	progressSent bool // the Kustomization was enqueued to show progress
	report       ssa.HealthReport
	done         bool  // report is final: ready, failed, or deadline passed
	err          error // the last check failed to read the objects
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

// progressAfter is how long a check runs before its progress is written to
// the status: quick checks then cost no write besides their outcome.
const progressAfter = time.Second

// pendingKey is what a health check belongs to: a change of generation,
// revision or a new reconcile request starts over with a fresh apply.
func pendingKey(ks *kustomizev1.Kustomization, revision string) string {
	req, _ := meta.ReconcileAnnotationValue(ks.GetAnnotations())
	return fmt.Sprintf("%d|%s|%s", ks.Generation, revision, req)
}

// healthTracker polls the pending health checks of all Kustomizations. A
// worker is never held by a wait, and rechecks do not queue behind first
// applies: only a finished check enqueues its Kustomization.
type healthTracker struct {
	mu      sync.Mutex
	pending map[types.NamespacedName]*pendingHealth
	// done receives the Kustomizations whose check finished.
	done chan event.GenericEvent
	// check computes the health of objects; newSSA(...).Health.
	check func(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) (ssa.HealthReport, error)
	// parallel bounds the checks running at once.
	parallel int
}

func newHealthTracker(check func(context.Context, client.Client, []*unstructured.Unstructured) (ssa.HealthReport, error)) *healthTracker {
	return &healthTracker{
		pending:  map[types.NamespacedName]*pendingHealth{},
		done:     make(chan event.GenericEvent, 1024),
		check:    check,
		parallel: 8,
	}
}

// get returns the check of name for key, if one is under way.
func (t *healthTracker) get(name types.NamespacedName, key string) (*pendingHealth, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.pending[name]
	if !ok || p.key != key {
		return nil, false
	}
	return p, true
}

// outcome returns the report of p and whether it is final.
func (t *healthTracker) outcome(p *pendingHealth) (ssa.HealthReport, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return p.report, p.done, p.err
}

// track starts polling p, after a first check found objects pending.
func (t *healthTracker) track(name types.NamespacedName, p *pendingHealth, report ssa.HealthReport) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p.report = report
	p.objs = pendingOnly(p.objs, report)
	p.next = time.Now().Add(p.nextPoll())
	t.pending[name] = p
}

func (t *healthTracker) forget(name types.NamespacedName) {
	t.take(name)
}

// take removes the check of name, whatever its key, and returns it (nil
// when there is none).
func (t *healthTracker) take(name types.NamespacedName) *pendingHealth {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pending[name]
	delete(t.pending, name)
	return p
}

// Start polls until ctx ends; it runs as a manager Runnable.
func (t *healthTracker) Start(ctx context.Context) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	sem := make(chan struct{}, t.parallel)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		for name, p := range t.due() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				t.poll(ctx, name, p)
			}()
		}
	}
}

// due marks and returns the checks whose next poll has come.
func (t *healthTracker) due() map[types.NamespacedName]*pendingHealth {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	out := map[types.NamespacedName]*pendingHealth{}
	for name, p := range t.pending {
		if !p.done && !p.checking && !now.Before(p.next) {
			p.checking = true
			out[name] = p
		}
	}
	return out
}

// poll checks p once and, when the check is final, enqueues its Kustomization.
func (t *healthTracker) poll(ctx context.Context, name types.NamespacedName, p *pendingHealth) {
	t.mu.Lock()
	objs := p.objs
	t.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	report, err := t.check(cctx, p.client, objs)
	cancel()

	t.mu.Lock()
	p.checking = false
	p.err = err
	if err == nil {
		p.report = report
		p.objs = pendingOnly(objs, report)
	}
	p.done = err != nil || report.Ready() || len(report.Failed) > 0 || time.Now().After(p.deadline)
	p.next = time.Now().Add(p.nextPoll())
	current := t.pending[name] == p
	finished := p.done && current
	progress := !p.done && current && !p.progressSent && time.Since(p.started) > progressAfter
	if progress {
		p.progressSent = true
	}
	t.mu.Unlock()

	if finished || progress {
		ks := &kustomizev1.Kustomization{}
		ks.Namespace, ks.Name = name.Namespace, name.Name
		select {
		case t.done <- event.GenericEvent{Object: ks}:
		case <-ctx.Done():
		}
		log.FromContext(ctx).V(1).Info("health check", "kustomization", name.String(), "finished", finished, "ready", report.Ready())
	}
}

// pendingOnly keeps the objects that were not yet Current, so that later
// polls read only those.
func pendingOnly(objs []*unstructured.Unstructured, report ssa.HealthReport) []*unstructured.Unstructured {
	pending := map[string]bool{}
	for _, h := range report.Pending {
		pending[h.Subject] = true
	}
	out := objs[:0:0]
	for _, u := range objs {
		if pending[ssa.Subject(u)] {
			out = append(out, u)
		}
	}
	return out
}
