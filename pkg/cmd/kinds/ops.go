package kinds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/cmdutil"
)

// Annotations that `tether reconcile helmrelease --force/--reset` sets next
// to the reconcile request, with the same value (defined with the HelmRelease
// API, whose status records the values handled).
const (
	ForceRequestAnnotation = helmv1.ForceRequestAnnotation
	ResetRequestAnnotation = helmv1.ResetRequestAnnotation
)

// DefaultPollInterval is how often the commands read an object they wait for.
const DefaultPollInterval = 500 * time.Millisecond

// Get reads an object; a missing object is an error that says how to list
// the existing ones.
func Get(ctx context.Context, c client.Client, k *Kind, namespace, name string) (Object, error) {
	obj := k.New()
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, notFound(err, k, namespace, name)
		}
		return nil, apiError(err, k, "reading %s %s/%s", k.Kind, namespace, name)
	}
	k.SetType(obj)
	return obj, nil
}

// ListIn lists the objects of a kind in a namespace ("" for all namespaces).
func ListIn(ctx context.Context, c client.Client, k *Kind, namespace string) ([]Object, error) {
	list := k.NewList()
	var opts []client.ListOption
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	if err := c.List(ctx, list, opts...); err != nil {
		return nil, apiError(err, k, "listing %s", k.Kind)
	}
	items := list.GetItems()
	out := make([]Object, 0, len(items))
	for _, it := range items {
		o := it.(Object)
		k.SetType(o)
		out = append(out, o)
	}
	return out, nil
}

// Change is a patch of the fields the commands own: spec.suspend and
// annotations. A nil Suspend leaves spec.suspend alone.
type Change struct {
	Suspend     *bool
	Annotations map[string]string
}

// Apply sends the change as a JSON merge patch, so that it touches nothing
// else and needs no resourceVersion; obj is updated with the result.
func (ch Change) Apply(ctx context.Context, c client.Client, k *Kind, obj Object) error {
	patch := map[string]any{}
	if ch.Suspend != nil {
		patch["spec"] = map[string]any{"suspend": *ch.Suspend}
	}
	if len(ch.Annotations) > 0 {
		patch["metadata"] = map[string]any{"annotations": ch.Annotations}
	}
	data, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	if err := c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, data)); err != nil {
		if apierrors.IsNotFound(err) {
			return notFound(err, k, obj.GetNamespace(), obj.GetName())
		}
		return apiError(err, k, "patching %s %s/%s", k.Kind, obj.GetNamespace(), obj.GetName())
	}
	k.SetType(obj)
	return nil
}

// RequestAnnotations returns the reconcile request annotation with a fresh
// value taken from now, plus extra annotation keys (--force, --reset) with the
// same value.
func RequestAnnotations(now time.Time, extra ...string) (string, map[string]string) {
	v := meta.NewReconcileRequestValue(now)
	ann := map[string]string{meta.ReconcileRequestAnnotation: v}
	for _, k := range extra {
		ann[k] = v
	}
	return v, ann
}

// Handled reports whether the controller has answered the reconcile request
// value: it recorded the value, and the Ready condition is the outcome of
// that reconcile (True or False for the current generation, or False after a
// failure that leaves the generation unobserved).
func Handled(o Object, requested string) bool {
	if o.GetLastHandledReconcileRequest() != requested {
		return false
	}
	ready := meta.GetCondition(o, meta.ReadyCondition)
	if ready == nil {
		return false
	}
	if ready.Status == metav1.ConditionFalse {
		return true
	}
	return o.GetObservedGeneration() == o.GetGeneration() && ready.Status == metav1.ConditionTrue
}

// WaitHandled polls the object until Handled, the object is gone, or ctx
// ends; it returns the last state read.
func WaitHandled(ctx context.Context, c client.Client, k *Kind, namespace, name, requested string, interval time.Duration) (Object, error) {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	var last Object
	err := wait.PollUntilContextCancel(ctx, interval, true, func(ctx context.Context) (bool, error) {
		o, err := Get(ctx, c, k, namespace, name)
		if err != nil {
			if IsNotFound(err) {
				return false, err
			}
			return false, nil // a blip of the API server: try again
		}
		last = o
		return Handled(o, requested), nil
	})
	switch {
	case err == nil:
		return last, nil
	case !wait.Interrupted(err):
		return last, err
	case last == nil:
		return nil, fmt.Errorf("timed out waiting for %s %s/%s to be reconciled: could not read it from the cluster", k.Kind, namespace, name)
	}
	return last, fmt.Errorf("timed out waiting for %s %s/%s to be reconciled: %s", k.Kind, namespace, name, lastState(last))
}

// WaitGone polls until the object no longer exists (its finalizers have run)
// or ctx ends.
func WaitGone(ctx context.Context, c client.Client, k *Kind, namespace, name string, interval time.Duration) error {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	err := wait.PollUntilContextCancel(ctx, interval, true, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, k.New())
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("timed out waiting for %s %s/%s to be deleted: its finalizer has not finished; check the reconciler's logs", k.Kind, namespace, name)
	}
	return nil
}

// Outcome turns the Ready condition of a reconciled object into the line to
// print: "applied revision …" or "fetched revision …", or an error with the
// Ready message when it is not Ready.
func Outcome(k *Kind, o Object) (string, error) {
	if !meta.IsReady(o) {
		_, reason, msg := meta.ReadyStatus(o)
		if msg == "" {
			msg = "no Ready condition"
		}
		if reason != "" {
			msg = reason + ": " + msg
		}
		return "", fmt.Errorf("%s %s/%s is not ready: %s", k.Kind, o.GetNamespace(), o.GetName(), msg)
	}
	verb := "fetched"
	if k.Applies {
		verb = "applied"
	}
	rev := k.Revision(o)
	if rev == "" {
		return fmt.Sprintf("%s %s/%s reconciled", k.Kind, o.GetNamespace(), o.GetName()), nil
	}
	return fmt.Sprintf("%s revision %s", verb, rev), nil
}

func lastState(o Object) string {
	status, reason, msg := meta.ReadyStatus(o)
	if status == "" {
		return "the controller has not reported a status yet: check that the reconciler is running (tether check)"
	}
	if o.GetLastHandledReconcileRequest() == "" {
		return fmt.Sprintf("the request is not handled yet (Ready=%s %s: %s): check that the reconciler is running (tether check)", status, reason, msg)
	}
	return fmt.Sprintf("Ready=%s %s: %s", status, reason, msg)
}

type notFoundError struct{ error }

func (e notFoundError) Unwrap() error { return e.error }

// Select returns the named objects, or with all every object of the kind in
// the namespace; naming none without all is an error.
func Select(ctx context.Context, c client.Client, k *Kind, namespace string, names []string, all bool) ([]Object, error) {
	switch {
	case all && len(names) > 0:
		return nil, fmt.Errorf("names and --all do not go together: pass one or the other")
	case all:
		objs, err := ListIn(ctx, c, k, namespace)
		if err != nil {
			return nil, err
		}
		if len(objs) == 0 {
			return nil, fmt.Errorf("no %s objects found in namespace %s", k.Kind, namespace)
		}
		return objs, nil
	case len(names) == 0:
		return nil, fmt.Errorf("name a %s or pass --all", k.Kind)
	}
	out := make([]Object, 0, len(names))
	for _, n := range names {
		o, err := Get(ctx, c, k, namespace, n)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// apiError says in one line what failed: an unreachable cluster, a cluster
// without Tether's CRDs, or the API server's own error.
func apiError(err error, k *Kind, format string, a ...any) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		host := ue.URL
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Scheme + "://" + u.Host
		}
		return cmdutil.Unreachable(host, err)
	}
	if apimeta.IsNoMatchError(err) {
		return cmdutil.Summarize(err, "the cluster does not serve %s (%s): install Tether with tether install, or check the context", k.Kind, k.GVK.GroupVersion())
	}
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), err)
}

// CheckSelection checks the NAME arguments and --all of a command that acts
// on objects of k (verb: "suspend", "export", ...): one or the other.
func CheckSelection(k *Kind, verb string, names []string, all bool) error {
	if all && len(names) > 0 {
		return cmdutil.UsageErrorf("names and --all do not go together: pass one or the other")
	}
	if !all && len(names) == 0 {
		return cmdutil.UsageErrorf("name a %s to %s, or pass --all", k.Kind, verb)
	}
	return nil
}
