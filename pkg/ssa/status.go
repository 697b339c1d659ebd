package ssa

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// Health is the kstatus of one object.
type Health struct {
	Subject string
	Status  status.Status
	Message string
}

func (h Health) String() string {
	if h.Message == "" {
		return fmt.Sprintf("%s (%s)", h.Subject, h.Status)
	}
	return fmt.Sprintf("%s (%s: %s)", h.Subject, h.Status, h.Message)
}

// HealthReport is the health of a set of objects, split by outcome.
type HealthReport struct {
	// Pending are the objects still progressing (or not yet found).
	Pending []Health
	// Failed are the objects that kstatus says have failed.
	Failed []Health
}

// Ready reports whether every object is Current.
func (r HealthReport) Ready() bool { return len(r.Pending) == 0 && len(r.Failed) == 0 }

// String lists the objects that are not ready.
func (r HealthReport) String() string {
	var parts []string
	for _, h := range append(append([]Health{}, r.Failed...), r.Pending...) {
		parts = append(parts, h.String())
	}
	return strings.Join(parts, ", ")
}

// Health reads each object once and computes its kstatus. It does not wait:
// a controller checks again later instead of holding a worker.
func (m *Manager) Health(ctx context.Context, objs []*unstructured.Unstructured) (HealthReport, error) {
	live := make([]*unstructured.Unstructured, len(objs))
	err := m.each(ctx, len(objs), func(ctx context.Context, i int) error {
		var err error
		live[i], err = m.get(ctx, objs[i])
		return err
	})
	if err != nil {
		return HealthReport{}, err
	}
	return healthOf(objs, live)
}

// HealthOf computes the kstatus of objects already read (such as those
// ApplyAllStaged returns), without a request.
func HealthOf(objs []*unstructured.Unstructured) (HealthReport, error) {
	return healthOf(objs, objs)
}

// healthOf classifies the objects by the kstatus of their live state (nil:
// not found).
func healthOf(objs, live []*unstructured.Unstructured) (HealthReport, error) {
	var r HealthReport
	for i, u := range objs {
		h := Health{Subject: Subject(u)}
		if live[i] == nil {
			h.Status, h.Message = status.NotFoundStatus, "not found"
		} else {
			res, err := status.Compute(live[i])
			if err != nil {
				return HealthReport{}, fmt.Errorf("%s: computing its status: %w", h.Subject, err)
			}
			h.Status, h.Message = res.Status, res.Message
		}
		switch h.Status {
		case status.CurrentStatus:
		case status.FailedStatus:
			r.Failed = append(r.Failed, h)
		default:
			r.Pending = append(r.Pending, h)
		}
	}
	sort.Slice(r.Pending, func(i, j int) bool { return r.Pending[i].Subject < r.Pending[j].Subject })
	sort.Slice(r.Failed, func(i, j int) bool { return r.Failed[i].Subject < r.Failed[j].Subject })
	return r, nil
}

// WaitForReady polls the objects until kstatus reports every one Current, and
// fails with the objects still not ready (and why) when timeout passes. It is
// for the CLI; controllers call Health and requeue.
func (m *Manager) WaitForReady(ctx context.Context, objs []*unstructured.Unstructured, timeout time.Duration) error {
	var last HealthReport
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		r, err := m.Health(ctx, objs)
		if err != nil {
			return false, err
		}
		last = r
		return r.Ready(), nil
	})
	if err != nil && !last.Ready() && ctx.Err() != nil {
		return fmt.Errorf("timed out after %s waiting for %s", timeout, last)
	}
	return err
}
