// Package ssa applies Kubernetes objects with server-side apply, in stages
// (cluster definitions before the objects that need them), only writing what a
// dry-run shows would change; it deletes (prunes) objects, and computes their
// health with kstatus.
package ssa

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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

// Annotations that users put on objects to change how Tether treats them.
const (
	// ReconcileAnnotation set to "disabled" (in Git or on the live object)
	// makes Tether leave the object alone: never applied, never pruned.
	ReconcileAnnotation = "tether.dev/reconcile"
	// SSAAnnotation set to "IfNotPresent" creates the object once and never
	// updates it (e.g. a Secret that another tool fills in).
	SSAAnnotation = "tether.dev/ssa"
	// PruneAnnotation set to "disabled" keeps the object when it leaves Git.
	PruneAnnotation = "tether.dev/prune"
	// ForceAnnotation set to "enabled" recreates the object when an update
	// fails on an immutable field.
	ForceAnnotation = "tether.dev/force"

	DisabledValue     = "disabled"
	EnabledValue      = "enabled"
	IfNotPresentValue = "IfNotPresent"
)

// Change is the outcome for one object.
type Change struct {
	// Subject is "Kind/namespace/name" (or "Kind/name" for cluster-scoped objects).
	Subject string
	Action  Action
}

func (c Change) String() string { return c.Subject + " " + string(c.Action) }

// ChangeSet is the outcome of applying or deleting many objects.
type ChangeSet []Change

// Count returns how many changes have the action.
func (cs ChangeSet) Count(a Action) int {
	n := 0
	for _, c := range cs {
		if c.Action == a {
			n++
		}
	}
	return n
}

// Changed returns the changes other than Unchanged and Skipped.
func (cs ChangeSet) Changed() ChangeSet {
	var out ChangeSet
	for _, c := range cs {
		if c.Action != Unchanged && c.Action != Skipped {
			out = append(out, c)
		}
	}
	return out
}

// Summary is "2 created, 1 configured, 5 unchanged", leaving out zero counts.
func (cs ChangeSet) Summary() string {
	var parts []string
	for _, a := range []Action{Created, Configured, Deleted, Unchanged, Skipped} {
		if n := cs.Count(a); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, a))
		}
	}
	if len(parts) == 0 {
		return "nothing to do"
	}
	return strings.Join(parts, ", ")
}

// Manager applies and deletes objects as one field manager.
type Manager struct {
	client       client.Client
	fieldManager string
	// Concurrency bounds the requests in flight for one stage.
	Concurrency int
}

// New returns a Manager that applies as fieldManager with c, which must read
// live state (not an informer cache: applied objects are not cached).
func New(c client.Client, fieldManager string) *Manager {
	return &Manager{client: c, fieldManager: fieldManager, Concurrency: 8}
}

// Subject names an object in messages: "Kind/namespace/name".
func Subject(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return u.GetKind() + "/" + ns + "/" + u.GetName()
	}
	return u.GetKind() + "/" + u.GetName()
}

func annotation(u *unstructured.Unstructured, key string) string {
	if u == nil {
		return ""
	}
	return u.GetAnnotations()[key]
}
