// Package uninstall implements `tether uninstall`.
package uninstall

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/manifestgen"
	"github.com/tether-gitops/tether/pkg/ssa"
	"github.com/tether-gitops/tether/pkg/version"
)

// Options are the flags and clients of `tether uninstall`.
type Options struct {
	Factory *cmdutil.Factory
	IO      *iostreams.IOStreams

	Namespace     string
	Yes           bool
	KeepNamespace bool
	DryRun        bool
	Timeout       time.Duration
}

// NewCmdUninstall returns `tether uninstall`.
func NewCmdUninstall(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f, IO: f.IOStreams, Namespace: manifestgen.DefaultNamespace}
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove Tether's reconciler, CRDs and objects from the cluster",
		Long: `Uninstall stops the reconciler, removes the finalizers of every Tether object so
that nothing hangs, deletes those objects, the CRDs, the RBAC and the tether-system
namespace. Workloads that Tether applied stay where they are, and so do other
namespaces.`,
		Example: `  # Ask before deleting
  tether uninstall

  # In a script
  tether uninstall --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("namespace") {
				opts.Namespace = f.Namespace()
			}
			if runF != nil {
				return runF(opts)
			}
			return opts.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	// Flux's name for it, so that scripts carry over.
	cmd.Flags().BoolVar(&opts.Yes, "silent", false, "same as --yes")
	cmd.Flags().BoolVar(&opts.KeepNamespace, "keep-namespace", false, "keep the namespace the reconciler runs in")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print what would be deleted and delete nothing")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 5*time.Minute, "how long to wait for the deletions to finish")
	return cmd
}

// Run confirms, then deletes the installation.
func (o *Options) Run(ctx context.Context) error {
	if !o.Yes && !o.DryRun {
		if !o.IO.CanPrompt() {
			return fmt.Errorf("refusing to uninstall without confirmation: pass --yes")
		}
		if !o.IO.Confirm("Delete Tether and all its objects (Kustomizations, HelmReleases, sources) from the cluster?") {
			return &cmdutil.ExitError{Code: 1, Err: fmt.Errorf("uninstall cancelled")}
		}
	}
	if _, err := o.Factory.ServerVersion(ctx); err != nil {
		return err
	}
	c, err := o.Factory.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	objs, err := manifestgen.Generate(manifestgen.Options{Version: version.Get(), Namespace: o.Namespace})
	if err != nil {
		return err
	}
	crds, err := tetherCRDs(ctx, c, objs)
	if err != nil {
		return err
	}
	mgr := ssa.New(c, "tether")
	prefix := ""
	if o.DryRun {
		prefix = "(dry run) would delete "
	}

	// 1. Stop the reconciler, so that it does not add finalizers back.
	var rest, namespaces []*unstructured.Unstructured
	for _, u := range objs {
		switch u.GetKind() {
		case "CustomResourceDefinition":
		case "Namespace":
			namespaces = append(namespaces, u)
		default:
			rest = append(rest, u)
		}
	}
	for _, u := range reverse(rest) {
		if u.GetKind() != "Deployment" {
			continue
		}
		if err := o.delete(ctx, mgr, u, prefix); err != nil {
			return err
		}
	}

	// 2. Every Tether object: drop finalizers, delete.
	for _, crd := range crds {
		if err := o.deleteObjectsOf(ctx, c, crd, prefix); err != nil {
			return err
		}
	}

	// 3. CRDs, RBAC and the rest, in reverse install order, then the namespace.
	var deleted []*unstructured.Unstructured
	for _, crd := range crds {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
		u.SetName(crd.Name)
		if err := o.delete(ctx, mgr, u, prefix); err != nil {
			return err
		}
		deleted = append(deleted, u)
	}
	for _, u := range reverse(rest) {
		if u.GetKind() == "Deployment" {
			continue
		}
		if err := o.delete(ctx, mgr, u, prefix); err != nil {
			return err
		}
	}
	if !o.KeepNamespace {
		for _, u := range namespaces {
			if err := o.delete(ctx, mgr, u, prefix); err != nil {
				return err
			}
		}
	}
	if o.DryRun {
		return nil
	}
	o.IO.Step("waiting for the CRDs to be removed")
	if err := mgr.WaitForDeletion(ctx, deleted, o.Timeout); err != nil {
		return err
	}
	o.IO.Success("uninstall finished")
	return nil
}

func (o *Options) delete(ctx context.Context, mgr *ssa.Manager, u *unstructured.Unstructured, prefix string) error {
	if o.DryRun {
		fmt.Fprintf(o.IO.Out, "%s%s\n", prefix, ssa.Subject(u))
		return nil
	}
	ch, err := mgr.Delete(ctx, u, metav1.DeletePropagationBackground)
	if err != nil {
		return err
	}
	if ch.Action == ssa.Deleted {
		o.IO.Success("%s", ch)
	}
	return nil
}

// tetherCRDs returns the CRDs in the cluster that Tether installed: those of
// this CLI's manifests and any labelled as Tether's (a newer version may have more).
func tetherCRDs(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) ([]apiextensionsv1.CustomResourceDefinition, error) {
	names := map[string]bool{}
	for _, u := range objs {
		if u.GetKind() == "CustomResourceDefinition" {
			names[u.GetName()] = true
		}
	}
	var list apiextensionsv1.CustomResourceDefinitionList
	if err := c.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing CRDs: %w", err)
	}
	var out []apiextensionsv1.CustomResourceDefinition
	for _, crd := range list.Items {
		if names[crd.Name] || crd.Labels[manifestgen.PartOfLabel] == manifestgen.PartOfValue {
			out = append(out, crd)
		}
	}
	return out, nil
}

// deleteObjectsOf removes the finalizers of every object of a CRD's kind, in
// all namespaces, and deletes it.
func (o *Options) deleteObjectsOf(ctx context.Context, c client.Client, crd apiextensionsv1.CustomResourceDefinition, prefix string) error {
	version := storageVersion(crd)
	gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: version, Kind: crd.Spec.Names.ListKind}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk)
	if err := c.List(ctx, list); err != nil {
		if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("listing %s: %w", crd.Spec.Names.Plural, err)
	}
	for i := range list.Items {
		u := &list.Items[i]
		u.SetGroupVersionKind(gvk.GroupVersion().WithKind(crd.Spec.Names.Kind))
		if o.DryRun {
			fmt.Fprintf(o.IO.Out, "%s%s\n", prefix, ssa.Subject(u))
			continue
		}
		if len(u.GetFinalizers()) > 0 {
			patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))
			if err := c.Patch(ctx, u, patch); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("removing finalizers of %s: %w", ssa.Subject(u), err)
			}
		}
		if err := c.Delete(ctx, u); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting %s: %w", ssa.Subject(u), err)
		}
		o.IO.Success("%s deleted", ssa.Subject(u))
	}
	return nil
}

func storageVersion(crd apiextensionsv1.CustomResourceDefinition) string {
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			return v.Name
		}
	}
	return crd.Spec.Versions[0].Name
}

func reverse(in []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(in))
	for i, u := range in {
		out[len(in)-1-i] = u
	}
	return out
}
