package kustomization

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/pkg/ssa"
)

// TestHealthTracker_PollsUntilReadyThenEnqueuesOnce drives the tracker with
// a check that reports the object pending twice, then ready.
func TestHealthTracker_PollsUntilReadyThenEnqueuesOnce(t *testing.T) {
	var calls atomic.Int32
	tr := newHealthTracker(func(_ context.Context, _ client.Client, objs []*unstructured.Unstructured) (ssa.HealthReport, error) {
		if calls.Add(1) < 3 {
			return ssa.HealthReport{Pending: []ssa.Health{{Subject: ssa.Subject(objs[0]), Status: status.InProgressStatus}}}, nil
		}
		return ssa.HealthReport{}, nil
	})
	obj := u("apps/v1", "Deployment", "apps", "web")
	name := types.NamespacedName{Namespace: "apps", Name: "web"}
	p := &pendingHealth{key: "k", objs: []*unstructured.Unstructured{obj}, started: time.Now().Add(-time.Hour), deadline: time.Now().Add(time.Hour),
		progressSent: true} // progress is TestHealthTracker_LongCheckIsEnqueuedOnceForProgress's
	tr.track(name, p, ssa.HealthReport{Pending: []ssa.Health{{Subject: ssa.Subject(obj), Status: status.InProgressStatus}}})
	p.next = time.Now() // poll at once rather than after the 5s back-off

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() { _ = tr.Start(ctx) }()
	// Between polls the back-off is 5s (started an hour ago); pull it in.
	for calls.Load() < 3 && ctx.Err() == nil {
		tr.mu.Lock()
		p.next = time.Now()
		tr.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case ev := <-tr.done:
		if ev.Object.GetName() != "web" || ev.Object.GetNamespace() != "apps" {
			t.Errorf("enqueued %s/%s", ev.Object.GetNamespace(), ev.Object.GetName())
		}
	case <-ctx.Done():
		t.Fatal("no event after the check became ready")
	}
	report, done, err := tr.outcome(p)
	if !done || err != nil || !report.Ready() {
		t.Errorf("outcome = %v, done %v, err %v", report, done, err)
	}
	time.Sleep(600 * time.Millisecond)
	if n := calls.Load(); n != 3 {
		t.Errorf("checked %d times, want 3: a finished check is not polled again", n)
	}
	select {
	case <-tr.done:
		t.Error("enqueued twice")
	default:
	}
}

func TestHealthTracker_DeadlineEndsTheCheck(t *testing.T) {
	tr := newHealthTracker(func(_ context.Context, _ client.Client, objs []*unstructured.Unstructured) (ssa.HealthReport, error) {
		return ssa.HealthReport{Pending: []ssa.Health{{Subject: ssa.Subject(objs[0]), Status: status.InProgressStatus}}}, nil
	})
	obj := u("apps/v1", "Deployment", "apps", "stuck")
	p := &pendingHealth{key: "k", objs: []*unstructured.Unstructured{obj}, started: time.Now(), deadline: time.Now().Add(300 * time.Millisecond)}
	tr.track(types.NamespacedName{Namespace: "apps", Name: "stuck"}, p,
		ssa.HealthReport{Pending: []ssa.Health{{Subject: ssa.Subject(obj), Status: status.InProgressStatus}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() { _ = tr.Start(ctx) }()
	select {
	case <-tr.done:
	case <-ctx.Done():
		t.Fatal("the check went on past its deadline")
	}
	if report, done, _ := tr.outcome(p); !done || report.Ready() || len(report.Pending) != 1 {
		t.Errorf("outcome after the deadline = %v, done %v", report, done)
	}
}

func TestHealthTracker_LongCheckIsEnqueuedOnceForProgress(t *testing.T) {
	tr := newHealthTracker(func(_ context.Context, _ client.Client, objs []*unstructured.Unstructured) (ssa.HealthReport, error) {
		return ssa.HealthReport{Pending: []ssa.Health{{Subject: ssa.Subject(objs[0]), Status: status.InProgressStatus}}}, nil
	})
	obj := u("apps/v1", "Deployment", "apps", "slow")
	p := &pendingHealth{key: "k", objs: []*unstructured.Unstructured{obj}, started: time.Now().Add(-progressAfter), deadline: time.Now().Add(time.Hour)}
	tr.track(types.NamespacedName{Namespace: "apps", Name: "slow"}, p,
		ssa.HealthReport{Pending: []ssa.Health{{Subject: ssa.Subject(obj), Status: status.InProgressStatus}}})
	tr.mu.Lock()
	p.next = time.Now()
	tr.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() { _ = tr.Start(ctx) }()
	select {
	case <-tr.done:
	case <-ctx.Done():
		t.Fatal("a check past progressAfter was not enqueued to show its progress")
	}
	if _, done, _ := tr.outcome(p); done {
		t.Error("the progress enqueue marked the check done")
	}
	for range 3 { // more polls, no more progress events
		tr.mu.Lock()
		p.next = time.Now()
		tr.mu.Unlock()
		time.Sleep(400 * time.Millisecond)
	}
	select {
	case <-tr.done:
		t.Error("progress enqueued more than once")
	default:
	}
}
