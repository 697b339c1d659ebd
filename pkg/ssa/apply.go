package ssa

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ApplyOptions tune ApplyAllStaged.
type ApplyOptions struct {
	// Force recreates any object whose update fails on an immutable field;
	// without it only objects annotated tether.dev/force: enabled are.
	Force bool
	// WaitTimeout bounds the wait for CRDs to be established between stages.
	WaitTimeout time.Duration
	// Origins maps an object's Subject to the file it came from; errors
	// about the object then start with the file.
	Origins map[string]string
	// Applied, when set, remembers what was applied, to skip the dry-run of
	// objects that did not change (see Digests).
	Applied *Digests
}

// withOrigin prefixes err with the file u came from, when known.
func (o ApplyOptions) withOrigin(u *unstructured.Unstructured, err error) error {
	if err == nil {
		return nil
	}
	if f := o.Origins[Subject(u)]; f != "" {
		return fmt.Errorf("%s: %w", f, err)
	}
	return err
}

// plan is what applying one object will do, decided by a dry-run.
type plan struct {
	desired  *unstructured.Unstructured
	action   Action
	recreate bool
	// live is the object before, nil when it does not exist; merged is what
	// the dry-run says it becomes (nil when skipped or to be recreated).
	live, merged *unstructured.Unstructured
}

// ApplyAllStaged applies objs with server-side apply. Cluster definitions
// (CustomResourceDefinitions, Namespaces, ClusterRoles) go first and the CRDs
// are waited for, so that objects of their kinds can be applied next. Before
// anything is written every kind is checked to be known to the cluster or
// defined by a CRD in objs, and each stage is dry-run in full before any of
// its objects is written: a bad object fails the stage with nothing of it
// applied. Only objects that the dry-run shows would change are written, so
// re-applying an unchanged set sends no write. On return each object holds
// its state in the cluster (the server's answer, or the live object when
// unchanged).
func (m *Manager) ApplyAllStaged(ctx context.Context, objs []*unstructured.Unstructured, opts ApplyOptions) (ChangeSet, error) {
	if err := m.validate(objs, opts); err != nil {
		return nil, err
	}
	var defs, rest, crds []*unstructured.Unstructured
	for _, u := range objs {
		if isClusterDefinition(u) {
			defs = append(defs, u)
			if isCRD(u) {
				crds = append(crds, u)
			}
		} else {
			rest = append(rest, u)
		}
	}
	var changes ChangeSet
	if len(defs) > 0 {
		cs, err := m.applyStage(ctx, defs, opts)
		changes = append(changes, cs...)
		if err != nil {
			return changes, err
		}
		if len(crds) > 0 {
			timeout := opts.WaitTimeout
			if timeout <= 0 {
				timeout = time.Minute
			}
			if err := m.waitEstablished(ctx, crds, timeout); err != nil {
				return changes, err
			}
		}
	}
	cs, err := m.applyStage(ctx, rest, opts)
	return append(changes, cs...), err
}

// validate checks, before anything is applied, that every object has a kind
// the cluster knows (or that a CRD among objs defines), a namespace when its
// kind is namespaced, and no namespace when it is not (which is dropped, as
// kubectl does). A namespace of a kind defined in objs is assumed namespaced
// as its CRD says.
func (m *Manager) validate(objs []*unstructured.Unstructured, opts ApplyOptions) error {
	defined := map[schema.GroupKind]bool{}
	for _, u := range objs {
		if isCRD(u) {
			group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
			scope, _, _ := unstructured.NestedString(u.Object, "spec", "scope")
			defined[schema.GroupKind{Group: group, Kind: kind}] = scope == "Namespaced"
		}
	}
	var errs []error
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		if gvk.Kind == "" || gvk.Version == "" {
			errs = append(errs, opts.withOrigin(u, fmt.Errorf("%s: object has no apiVersion or kind", Subject(u))))
			continue
		}
		namespaced, isDefined := defined[gvk.GroupKind()]
		if !isDefined {
			mapping, err := m.client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				if meta.IsNoMatchError(err) {
					errs = append(errs, opts.withOrigin(u, fmt.Errorf("%s: no kind %s is known to the cluster: install its CRD first, or add it to the same build", Subject(u), gvk.GroupVersion().WithKind(gvk.Kind))))
					continue
				}
				return fmt.Errorf("%s: looking up the kind: %w", Subject(u), err)
			}
			namespaced = mapping.Scope.Name() == meta.RESTScopeNameNamespace
		}
		switch {
		case namespaced && u.GetNamespace() == "":
			errs = append(errs, opts.withOrigin(u, fmt.Errorf("%s: namespaced object without a namespace: set metadata.namespace or spec.targetNamespace", Subject(u))))
		case !namespaced && u.GetNamespace() != "":
			u.SetNamespace("")
		}
	}
	return errors.Join(errs...)
}

// applyStage dry-runs all objects of a stage, then writes those that change.
func (m *Manager) applyStage(ctx context.Context, objs []*unstructured.Unstructured, opts ApplyOptions) (ChangeSet, error) {
	plans := make([]plan, len(objs))
	err := m.each(ctx, len(objs), func(ctx context.Context, i int) error {
		p, err := m.plan(ctx, objs[i], opts)
		plans[i] = p
		return opts.withOrigin(objs[i], err)
	})
	if err != nil {
		return nil, err
	}
	err = m.each(ctx, len(plans), func(ctx context.Context, i int) error {
		p := &plans[i]
		if p.action != Created && p.action != Configured {
			return nil
		}
		if p.recreate {
			if err := m.recreate(ctx, p.desired); err != nil {
				return opts.withOrigin(p.desired, err)
			}
		}
		sum := digest(p.desired)
		if err := m.apply(ctx, p.desired, false); err != nil {
			return opts.withOrigin(p.desired, err)
		}
		opts.Applied.record(Subject(p.desired), sum)
		return nil
	})
	changes := make(ChangeSet, len(plans))
	for i, p := range plans {
		changes[i] = Change{Subject: Subject(objs[i]), Action: p.action}
		// Like a written object, which holds the server's answer, an
		// unchanged one takes the live state: callers compute health
		// from it without reading it again.
		if p.action == Unchanged && p.live != nil {
			objs[i].Object = p.live.Object
		}
	}
	return changes, err
}

// plan decides what applying u does: skip it, leave it, create or configure it.
func (m *Manager) plan(ctx context.Context, u *unstructured.Unstructured, opts ApplyOptions) (plan, error) {
	p := plan{desired: u}
	live, err := m.get(ctx, u)
	if err != nil {
		return p, err
	}
	p.live = live
	switch {
	case annotation(u, ReconcileAnnotation) == DisabledValue, annotation(live, ReconcileAnnotation) == DisabledValue:
		p.action = Skipped
		return p, nil
	case live != nil && annotation(u, SSAAnnotation) == IfNotPresentValue:
		p.action = Skipped
		return p, nil
	}
	sum := digest(u)
	if live != nil && opts.Applied.matches(Subject(u), sum) && contains(live.Object, u.Object) {
		p.action, p.merged = Unchanged, live
		return p, nil
	}
	opts.Applied.forget(Subject(u))
	dry := u.DeepCopy()
	if err := m.apply(ctx, dry, true); err != nil {
		field, immutable := immutableField(err)
		if !immutable || live == nil {
			return p, err
		}
		if !opts.Force && annotation(u, ForceAnnotation) != EnabledValue {
			return p, fmt.Errorf("%s: %s is immutable and changed: set spec.force or annotate the object with %s: %s to recreate it", Subject(u), field, ForceAnnotation, EnabledValue)
		}
		p.action, p.recreate = Configured, true
		return p, nil
	}
	p.merged = dry
	switch {
	case live == nil:
		p.action = Created
	case sameState(u, live, dry):
		p.action = Unchanged
		opts.Applied.record(Subject(u), sum)
	default:
		p.action = Configured
	}
	return p, nil
}

func (m *Manager) get(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(u.GroupVersionKind())
	err := m.client.Get(ctx, client.ObjectKeyFromObject(u), live)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%s: reading the live object: %w", Subject(u), err)
	}
	return live, nil
}

// apply server-side applies u (in place: u becomes the server's answer),
// taking ownership of fields other managers changed, which reverts drift.
func (m *Manager) apply(ctx context.Context, u *unstructured.Unstructured, dryRun bool) error {
	u.SetResourceVersion("")
	u.SetManagedFields(nil)
	opts := []client.ApplyOption{client.FieldOwner(m.fieldManager), client.ForceOwnership}
	if dryRun {
		opts = append(opts, client.DryRunAll)
	}
	if err := m.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), opts...); err != nil {
		verb := "apply"
		if dryRun {
			verb = "dry-run apply"
		}
		return fmt.Errorf("%s: %s failed: %w", Subject(u), verb, err)
	}
	return nil
}

// recreate deletes u and waits until it is gone, so that it can be created
// with a changed immutable field.
func (m *Manager) recreate(ctx context.Context, u *unstructured.Unstructured) error {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(u.GroupVersionKind())
	live.SetNamespace(u.GetNamespace())
	live.SetName(u.GetName())
	if err := m.client.Delete(ctx, live, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: deleting to recreate: %w", Subject(u), err)
	}
	return wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		got, err := m.get(ctx, u)
		return got == nil, err
	})
}

// sameState reports whether the dry-run of desired equals the live object,
// apart from bookkeeping that a dry-run changes without a real change. The
// status is left out unless desired sets one: controllers write it, and it
// may move between the GET and the dry-run (a Deployment scaling up), which
// is not a change the apply makes.
func sameState(desired, live, dry *unstructured.Unstructured) bool {
	_, withStatus := desired.Object["status"]
	strip := func(u *unstructured.Unstructured) map[string]any {
		c := u.DeepCopy()
		c.SetManagedFields(nil)
		c.SetResourceVersion("")
		c.SetGeneration(0)
		if !withStatus {
			delete(c.Object, "status")
		}
		return c.Object
	}
	return equality.Semantic.DeepEqual(strip(live), strip(dry))
}

// immutableField recognises the API server's refusal to change an immutable
// field and returns that field's path.
func immutableField(err error) (string, bool) {
	var se *apierrors.StatusError
	if !errors.As(err, &se) || !apierrors.IsInvalid(err) {
		return "", false
	}
	if d := se.Status().Details; d != nil {
		for _, c := range d.Causes {
			if strings.Contains(c.Message, "immutable") || strings.Contains(c.Message, "Forbidden: updates to") {
				return c.Field, true
			}
		}
	}
	if strings.Contains(se.Error(), "immutable") {
		return "a field", true
	}
	return "", false
}

// waitEstablished waits until the CRDs can serve their kinds.
func (m *Manager) waitEstablished(ctx context.Context, crds []*unstructured.Unstructured, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		for _, crd := range crds {
			live, err := m.get(ctx, crd)
			if err != nil || live == nil {
				return false, err
			}
			conds, _, _ := unstructured.NestedSlice(live.Object, "status", "conditions")
			established := false
			for _, c := range conds {
				cm, _ := c.(map[string]any)
				if cm["type"] == "Established" && cm["status"] == "True" {
					established = true
				}
			}
			if !established {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		names := make([]string, len(crds))
		for i, c := range crds {
			names[i] = c.GetName()
		}
		sort.Strings(names)
		return fmt.Errorf("CRDs not established within %s: %s", timeout, strings.Join(names, ", "))
	}
	return nil
}

func isCRD(u *unstructured.Unstructured) bool {
	return u.GroupVersionKind().GroupKind() == schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}
}

// isClusterDefinition reports whether other objects may need u to exist
// first: their kind's CRD, their Namespace, the ClusterRole they bind.
func isClusterDefinition(u *unstructured.Unstructured) bool {
	gk := u.GroupVersionKind().GroupKind()
	switch {
	case isCRD(u):
		return true
	case gk == schema.GroupKind{Kind: "Namespace"}:
		return true
	case gk == schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:
		return true
	}
	return false
}

// each runs fn for 0..n-1 with at most m.Concurrency in flight and returns
// all errors joined, sorted so that messages are stable.
func (m *Manager) each(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	limit := m.Concurrency
	if limit < 1 {
		limit = 1
	}
	sem := make(chan struct{}, limit)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(ctx, i); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}
