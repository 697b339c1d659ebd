// Package trace implements `tether trace`: which Kustomization (or
// HelmRelease) applied an object, and from which source and revision.
package trace

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/ssa"
)

// Labels that a HelmRelease's reconciler sets on the objects of its release,
// and the annotations Helm itself sets.
const (
	HelmNameLabel             = "helm.tether.dev/name"
	HelmNamespaceLabel        = "helm.tether.dev/namespace"
	helmReleaseNameAnnotation = "meta.helm.sh/release-name"
	helmReleaseNSAnnotation   = "meta.helm.sh/release-namespace"
)

// Options are the flags and clients of `tether trace`.
type Options struct {
	IO     *iostreams.IOStreams
	Client func() (client.Client, error)
	Mapper func() (apimeta.RESTMapper, error)

	// Resource is what the user typed for the kind: deployment, deploy,
	// deployments.apps, ConfigMap.
	Resource  string
	Name      string
	Namespace string
}

// NewCmdTrace returns `tether trace`.
func NewCmdTrace(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Client: f.Client, Mapper: f.ConfigFlags.ToRESTMapper}
	cmd := &cobra.Command{
		Use:   "trace KIND/NAME | KIND NAME",
		Short: "Show which Kustomization or HelmRelease manages an object, and from which source",
		Long: `Trace reads the labels that Tether sets on the objects it applies
(kustomize.tether.dev/name and /namespace, or helm.tether.dev/name and
/namespace) and reports the Kustomization or HelmRelease that manages the
object, its status and the source and revision it applied. It exits 1 when
the object is not managed by Tether.`,
		Example: `  # Which Kustomization applied the Deployment podinfo
  tether trace deployment/podinfo -n apps

  # Kinds are named as kubectl names them
  tether trace cm settings -n apps`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 1 && strings.Count(args[0], "/") == 1:
				opts.Resource, opts.Name, _ = strings.Cut(args[0], "/")
			case len(args) == 2 && !strings.Contains(args[0], "/"):
				opts.Resource, opts.Name = args[0], args[1]
			default:
				return cmdutil.UsageErrorf("name the object as KIND/NAME or KIND NAME, e.g. deployment/podinfo")
			}
			if opts.Resource == "" || opts.Name == "" {
				return cmdutil.UsageErrorf("name the object as KIND/NAME or KIND NAME, e.g. deployment/podinfo")
			}
			opts.Namespace = f.Namespace()
			if runF != nil {
				return runF(opts)
			}
			return opts.Run(cmd.Context())
		},
	}
	return cmd
}

// Run finds the object and prints its report.
func (o *Options) Run(ctx context.Context) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	mapper, err := o.Mapper()
	if err != nil {
		return err
	}
	gvk, namespaced, err := resolve(mapper, o.Resource)
	if err != nil {
		return err
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	key := client.ObjectKey{Name: o.Name}
	if namespaced {
		key.Namespace = o.Namespace
	}
	if err := c.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%s %s not found in namespace %s", gvk.Kind, o.Name, o.Namespace)
		}
		return fmt.Errorf("reading %s %s: %w", gvk.Kind, o.Name, err)
	}
	r := &report{}
	r.add("Object", ref(gvk.Kind, obj.GetNamespace(), obj.GetName()))

	labels := obj.GetLabels()
	if name := labels[kustomizev1.NameLabel]; name != "" {
		return o.kustomization(ctx, c, r, obj, labels[kustomizev1.NamespaceLabel], name)
	}
	if name := labels[HelmNameLabel]; name != "" {
		return o.helmRelease(ctx, c, r, labels[HelmNamespaceLabel], name)
	}
	if rel := obj.GetAnnotations()[helmReleaseNameAnnotation]; rel != "" {
		if hr := o.findRelease(ctx, c, rel, obj.GetAnnotations()[helmReleaseNSAnnotation]); hr != nil {
			return o.helmRelease(ctx, c, r, hr.Namespace, hr.Name)
		}
	}
	return fmt.Errorf("%s %s is not managed by Tether: it has no %s or %s label", gvk.Kind, ref("", obj.GetNamespace(), obj.GetName())[1:], kustomizev1.NameLabel, HelmNameLabel)
}

// resolve maps what the user typed to a kind, as kubectl does (singular,
// plural, short names, resource.group).
func resolve(mapper apimeta.RESTMapper, resource string) (schema.GroupVersionKind, bool, error) {
	var gvr schema.GroupVersionResource
	if full, gr := schema.ParseResourceArg(strings.ToLower(resource)); full != nil {
		gvr = *full
	} else {
		gvr = gr.WithVersion("")
	}
	gvk, err := mapper.KindFor(gvr)
	if err != nil {
		// A kind typed as such (ConfigMap, Deployment.apps).
		gk := schema.ParseGroupKind(resource)
		m, kerr := mapper.RESTMapping(gk)
		if kerr != nil {
			return schema.GroupVersionKind{}, false, fmt.Errorf("the cluster does not know the kind %q: %w", resource, err)
		}
		return m.GroupVersionKind, m.Scope.Name() == apimeta.RESTScopeNameNamespace, nil
	}
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return schema.GroupVersionKind{}, false, err
	}
	return gvk, m.Scope.Name() == apimeta.RESTScopeNameNamespace, nil
}

func (o *Options) kustomization(ctx context.Context, c client.Client, r *report, obj *unstructured.Unstructured, namespace, name string) error {
	k, err := kinds.Get(ctx, c, kinds.Kustomization, namespace, name)
	if err != nil {
		r.blank()
		r.add("Kustomization", ref("", namespace, name)[1:]+" (not found: the labels name a Kustomization that no longer exists)")
		r.print(o.IO.Out)
		return nil
	}
	ks := k.(*kustomizev1.Kustomization)
	r.blank()
	r.add("Kustomization", ks.Namespace+"/"+ks.Name)
	r.add("Path", ks.Spec.Path)
	r.add("Revision", ks.Status.LastAppliedRevision)
	r.status(ks)
	if !inInventory(ks, obj) {
		r.add("Note", "the object is not in the Kustomization's inventory: it was applied earlier and is no longer in the source")
	}
	o.source(ctx, c, r, kinds.Kustomization, ks)
	r.print(o.IO.Out)
	return nil
}

func (o *Options) helmRelease(ctx context.Context, c client.Client, r *report, namespace, name string) error {
	k, err := kinds.Get(ctx, c, kinds.HelmRelease, namespace, name)
	if err != nil {
		r.blank()
		r.add("HelmRelease", namespace+"/"+name+" (not found: the labels name a HelmRelease that no longer exists)")
		r.print(o.IO.Out)
		return nil
	}
	hr := k.(*helmv1.HelmRelease)
	r.blank()
	r.add("HelmRelease", hr.Namespace+"/"+hr.Name)
	r.add("Release", hr.GetReleaseNamespace()+"/"+hr.GetReleaseName())
	if latest := hr.Status.History.Latest(); latest != nil {
		r.add("Chart", latest.ChartName+"@"+latest.ChartVersion)
		r.add("Release version", fmt.Sprintf("%d (%s)", latest.Version, latest.Status))
	}
	r.status(hr)
	o.source(ctx, c, r, kinds.HelmRelease, hr)
	r.print(o.IO.Out)
	return nil
}

// source adds the source the object reconciles from (for a HelmRelease, its
// HelmChart, then the HelmChart's source).
func (o *Options) source(ctx context.Context, c client.Client, r *report, k *kinds.Kind, obj kinds.Object) {
	for range 2 {
		up, ok := k.UpstreamOf(obj)
		if !ok {
			return
		}
		src, err := kinds.Get(ctx, c, up.Kind, up.Namespace, up.Name)
		r.blank()
		if err != nil {
			r.add("Source", up.Kind.Kind+"/"+up.Namespace+"/"+up.Name+" (not found)")
			return
		}
		r.add("Source", up.Kind.Kind+"/"+up.Namespace+"/"+up.Name)
		if origin := up.Kind.Origin(src); origin != "" {
			r.add("Origin", origin)
		}
		r.add("Revision", up.Kind.Revision(src))
		r.status(src)
		k, obj = up.Kind, src
	}
}

// findRelease finds the HelmRelease whose release has the given name and
// namespace.
func (o *Options) findRelease(ctx context.Context, c client.Client, release, namespace string) *helmv1.HelmRelease {
	objs, err := kinds.ListIn(ctx, c, kinds.HelmRelease, "")
	if err != nil {
		return nil
	}
	for _, obj := range objs {
		hr := obj.(*helmv1.HelmRelease)
		if hr.GetReleaseName() == release && (namespace == "" || hr.GetReleaseNamespace() == namespace) {
			return hr
		}
	}
	return nil
}

func inInventory(ks *kustomizev1.Kustomization, obj *unstructured.Unstructured) bool {
	if ks.Status.Inventory == nil {
		return false
	}
	id := ssa.ObjectID(obj)
	return slices.ContainsFunc(ks.Status.Inventory.Entries, func(e kustomizev1.ResourceRef) bool { return e.ID == id })
}

func ref(kind, namespace, name string) string {
	s := kind + "/"
	if namespace != "" {
		s += namespace + "/"
	}
	return s + name
}

// report is a list of "Key: value" lines in sections.
type report struct {
	lines [][2]string
}

func (r *report) add(k, v string) {
	if v != "" {
		r.lines = append(r.lines, [2]string{k, v})
	}
}

func (r *report) blank() { r.lines = append(r.lines, [2]string{}) }

func (r *report) status(o kinds.Object) {
	status, reason, msg := meta.ReadyStatus(o)
	if status == "" {
		r.add("Ready", "Unknown (no status yet)")
		return
	}
	r.add("Ready", fmt.Sprintf("%s (%s)", status, reason))
	r.add("Message", msg)
	if o.IsSuspended() {
		r.add("Suspended", "true")
	}
}

func (r *report) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, l := range r.lines {
		if l[0] == "" {
			fmt.Fprintln(tw)
			continue
		}
		fmt.Fprintf(tw, "%s:\t%s\n", l[0], l[1])
	}
	_ = tw.Flush()
}
