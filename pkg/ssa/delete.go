package ssa

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DeleteOptions tune DeleteAll.
type DeleteOptions struct {
	// Owner labels must all be on a live object for it to be deleted, so
	// that an object another owner has taken over is never deleted.
	Owner map[string]string
	// Propagation defaults to background.
	Propagation metav1.DeletionPropagation
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

// DeleteAll deletes the objects that still exist, still carry the owner
// labels and are not annotated to be kept (tether.dev/prune: disabled or
// tether.dev/reconcile: disabled); the others are Skipped.
//
// Namespaces are deleted last, in a pass of their own, since deleting one
// deletes what it holds: the objects of objs in it go first, each checked
// as above. A Namespace is kept (Skipped) when one of those objects was kept,
// or its deletion would take the object with it, and all Namespaces are kept
// when another deletion failed.
func (m *Manager) DeleteAll(ctx context.Context, objs []*unstructured.Unstructured, opts DeleteOptions) (ChangeSet, error) {
	if opts.Propagation == "" {
		opts.Propagation = metav1.DeletePropagationBackground
	}
	var others, namespaces []int
	for i, u := range objs {
		if isNamespace(u) {
			namespaces = append(namespaces, i)
		} else {
			others = append(others, i)
		}
	}
	changes := make(ChangeSet, len(objs))
	for _, i := range namespaces {
		changes[i] = Change{Subject: Subject(objs[i]), Action: Skipped}
	}
	var mu sync.Mutex
	holding := map[string]bool{} // namespaces holding a kept object
	err := m.each(ctx, len(others), func(ctx context.Context, j int) error {
		u := objs[others[j]]
		ch, kept, err := m.deleteIfOurs(ctx, u, opts)
		changes[others[j]] = ch
		if kept && u.GetNamespace() != "" {
			mu.Lock()
			holding[u.GetNamespace()] = true
			mu.Unlock()
		}
		return err
	})
	if err != nil {
		return changes, err
	}
	err = m.each(ctx, len(namespaces), func(ctx context.Context, j int) error {
		u := objs[namespaces[j]]
		if holding[u.GetName()] {
			return nil
		}
		ch, _, err := m.deleteIfOurs(ctx, u, opts)
		changes[namespaces[j]] = ch
		return err
	})
	return changes, err
}

// deleteIfOurs deletes u unless it is gone, being deleted, or to be kept
// (another owner's, or annotated); kept reports the last.
func (m *Manager) deleteIfOurs(ctx context.Context, u *unstructured.Unstructured, opts DeleteOptions) (ch Change, kept bool, err error) {
	ch = Change{Subject: Subject(u), Action: Skipped}
	live, err := m.get(ctx, u)
	if err != nil {
		if meta.IsNoMatchError(err) || strings.Contains(err.Error(), "no matches for kind") {
			return ch, false, nil
		}
		return ch, false, err
	}
	if live == nil || !live.GetDeletionTimestamp().IsZero() {
		return ch, false, nil
	}
	if !owned(live, opts.Owner) || annotation(live, PruneAnnotation) == DisabledValue || annotation(live, ReconcileAnnotation) == DisabledValue {
		return ch, true, nil
	}
	// Deleting the object as read guards against deleting a newer one
	// created under the same name meanwhile.
	ch, err = m.Delete(ctx, live, opts.Propagation)
	return ch, false, err
}

func isNamespace(u *unstructured.Unstructured) bool {
	return u.GroupVersionKind().GroupKind() == schema.GroupKind{Kind: "Namespace"}
}

func owned(u *unstructured.Unstructured, owner map[string]string) bool {
	labels := u.GetLabels()
	for k, v := range owner {
		if labels[k] != v {
			return false
		}
	}
	return true
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
