// Package ssa applies Kubernetes objects with server-side apply, in stages
// (cluster definitions before the objects that need them), reports what changed,
// deletes, and waits for objects to become ready by their kstatus.
package ssa

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Action says what applying or deleting did to one object.
type Action string

const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	Deleted    Action = "deleted"
	Skipped    Action = "skipped"
)

// Change is the outcome for one object.
type Change struct {
	// Subject is "Kind/namespace/name" (or "Kind/name" for cluster-scoped objects).
	Subject string
	Action  Action
}

func (c Change) String() string { return c.Subject + " " + string(c.Action) }

// Manager applies and deletes objects as one field manager.
type Manager struct {
	client       client.Client
	fieldManager string
}

// New returns a Manager that applies as fieldManager.
func New(c client.Client, fieldManager string) *Manager {
	return &Manager{client: c, fieldManager: fieldManager}
}

// Subject names an object in messages: "Kind/namespace/name".
func Subject(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return u.GetKind() + "/" + ns + "/" + u.GetName()
	}
	return u.GetKind() + "/" + u.GetName()
}

// Apply server-side applies one object, taking ownership of conflicting fields,
// and reports whether it was created, changed or left as it was.
func (m *Manager) Apply(ctx context.Context, u *unstructured.Unstructured) (Change, error) {
	ch := Change{Subject: Subject(u)}
	existing := &unstructured.Unstructured{}
	existing.SetGroupVersionKind(u.GroupVersionKind())
	err := m.client.Get(ctx, client.ObjectKeyFromObject(u), existing)
	switch {
	case apierrors.IsNotFound(err):
		existing = nil
	case err != nil:
		return ch, fmt.Errorf("%s: reading current state: %w", ch.Subject, err)
	}

	applied := u.DeepCopy()
	applied.SetResourceVersion("")
	applied.SetManagedFields(nil)
	if err := m.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(applied),
		client.FieldOwner(m.fieldManager), client.ForceOwnership); err != nil {
		return ch, fmt.Errorf("%s: apply failed: %w", ch.Subject, err)
	}
	switch {
	case existing == nil:
		ch.Action = Created
	case existing.GetResourceVersion() == applied.GetResourceVersion():
		ch.Action = Unchanged
	default:
		ch.Action = Configured
	}
	u.SetResourceVersion(applied.GetResourceVersion())
	return ch, nil
}

// ApplyAllStaged applies CustomResourceDefinitions and Namespaces first, waits
// until those CRDs are established (so that objects of their kinds can be
// applied next), then applies the rest in order. It stops at the first error.
func (m *Manager) ApplyAllStaged(ctx context.Context, objs []*unstructured.Unstructured, crdTimeout time.Duration) ([]Change, error) {
	var defs, rest, crds []*unstructured.Unstructured
	for _, u := range objs {
		if isClusterDefinition(u) {
			defs = append(defs, u)
			if u.GetKind() == "CustomResourceDefinition" {
				crds = append(crds, u)
			}
		} else {
			rest = append(rest, u)
		}
	}
	var changes []Change
	for _, stage := range [][]*unstructured.Unstructured{defs, rest} {
		for _, u := range stage {
			ch, err := m.Apply(ctx, u)
			if err != nil {
				return changes, err
			}
			changes = append(changes, ch)
		}
		if len(crds) > 0 {
			if err := m.WaitForReady(ctx, crds, crdTimeout); err != nil {
				return changes, err
			}
			crds = nil
		}
	}
	return changes, nil
}

func isClusterDefinition(u *unstructured.Unstructured) bool {
	switch u.GroupVersionKind().GroupKind().String() {
	case "CustomResourceDefinition.apiextensions.k8s.io", "Namespace":
		return true
	}
	return false
}

// WaitForReady polls the objects until kstatus reports every one Current, and
// fails with the objects still not ready (and why) when timeout passes.
func (m *Manager) WaitForReady(ctx context.Context, objs []*unstructured.Unstructured, timeout time.Duration) error {
	pending := map[string]string{}
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		clear(pending)
		for _, u := range objs {
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(u.GroupVersionKind())
			if err := m.client.Get(ctx, client.ObjectKeyFromObject(u), live); err != nil {
				if apierrors.IsNotFound(err) {
					pending[Subject(u)] = "not found"
					continue
				}
				return false, fmt.Errorf("%s: %w", Subject(u), err)
			}
			res, err := status.Compute(live)
			if err != nil {
				return false, fmt.Errorf("%s: computing status: %w", Subject(u), err)
			}
			if res.Status != status.CurrentStatus {
				pending[Subject(u)] = fmt.Sprintf("%s: %s", res.Status, res.Message)
			}
		}
		return len(pending) == 0, nil
	})
	if err != nil && len(pending) > 0 && (errors.Is(err, context.DeadlineExceeded) || wait.Interrupted(err)) {
		var parts []string
		for s, why := range pending {
			parts = append(parts, s+" ("+why+")")
		}
		return fmt.Errorf("timed out after %s waiting for %s", timeout, strings.Join(parts, ", "))
	}
	return err
}

// Delete deletes one object in the foreground unless policy says otherwise,
// reporting Skipped when it does not exist (or its kind is gone).
func (m *Manager) Delete(ctx context.Context, u *unstructured.Unstructured, policy metav1.DeletionPropagation) (Change, error) {
	ch := Change{Subject: Subject(u), Action: Deleted}
	err := m.client.Delete(ctx, u, client.PropagationPolicy(policy))
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		ch.Action = Skipped
		return ch, nil
	}
	if err != nil {
		return ch, fmt.Errorf("%s: delete failed: %w", ch.Subject, err)
	}
	return ch, nil
}

// WaitForDeletion polls until none of the objects exist any more.
func (m *Manager) WaitForDeletion(ctx context.Context, objs []*unstructured.Unstructured, timeout time.Duration) error {
	var left []string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		left = left[:0]
		for _, u := range objs {
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(u.GroupVersionKind())
			err := m.client.Get(ctx, client.ObjectKeyFromObject(u), live)
			if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
				continue
			}
			if err != nil {
				return false, err
			}
			left = append(left, Subject(u))
		}
		return len(left) == 0, nil
	})
	if err != nil && len(left) > 0 {
		return fmt.Errorf("timed out after %s waiting for the deletion of %s", timeout, strings.Join(left, ", "))
	}
	return err
}
