// Package diff implements `tether diff kustomization`: a server-side dry-run
// of what the reconciler would apply and prune, as a unified diff.
package diff

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/cmd/build"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/ssa"
)

// FieldManager is the reconciler's, so that the dry-run shows what its
// apply would change.
const FieldManager = "tether"

// Options are the flags of `tether diff kustomization`.
type Options struct {
	build.Options
}

// NewCmdDiff returns `tether diff` with its `kustomization` subcommand.
func NewCmdDiff(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show what the reconciler would change in the cluster",
	}
	cmd.AddCommand(newCmdKustomization(f, runF))
	return cmd
}

func newCmdKustomization(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{build.Options{Factory: f, IO: f.IOStreams}}
	cmd := &cobra.Command{
		Use:     "kustomization NAME --path DIR",
		Aliases: []string{"ks"},
		Short:   "Diff a local directory, built as the Kustomization would build it, with the cluster",
		Long: `Diff builds DIR as 'tether build kustomization' does, dry-runs the server-side
apply of every object as the reconciler would, and prints a unified diff of each
object that would change, and the objects that would be created or pruned.
Secret values are masked. Exit status: 0 no change, 1 changes, 2 error.`,
		Example: `  tether diff kustomization apps --path ./clusters/prod/apps`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name, opts.Namespace = args[0], f.Namespace()
			err := opts.Validate()
			if err == nil && opts.DryRun {
				err = cmdutil.UsageErrorf("diff needs the cluster: --dry-run is not supported")
			}
			if err == nil {
				if runF != nil {
					return runF(opts)
				}
				err = opts.Run(cmd.Context())
			}
			var exit *cmdutil.ExitError
			if err != nil && !errors.As(err, &exit) {
				err = &cmdutil.ExitError{Code: 2, Err: err}
			}
			return err
		},
	}
	build.AddFlags(cmd, &opts.Options)
	return cmd
}

// Run prints the diff; it returns an ExitError with code 1 when something
// would change.
func (o *Options) Run(ctx context.Context) error {
	objs, live, origins, err := o.Render(ctx)
	if err != nil {
		return err
	}
	c, err := o.Factory.Client()
	if err != nil {
		return err
	}
	ks, _ := build.Kustomization(live, o.KustomizationFile, o.Name, o.Namespace)
	diffs, err := ssa.New(c, FieldManager).Diff(ctx, objs, ssa.ApplyOptions{Force: ks != nil && ks.Spec.Force, Origins: origins})
	if err != nil {
		return err
	}
	changed := 0
	for _, d := range diffs {
		switch d.Action {
		case ssa.Created:
			changed++
			o.IO.Step("%s created", d.Subject)
		case ssa.Configured:
			changed++
			o.IO.Step("%s drifted", d.Subject)
			if err := printDiff(o.IO.Out, d); err != nil {
				return err
			}
		}
	}
	pruned, err := o.pruned(ctx, c, live, objs)
	if err != nil {
		return err
	}
	for _, s := range pruned {
		changed++
		o.IO.Step("%s deleted", s)
	}
	if changed > 0 {
		return &cmdutil.ExitError{Code: 1, Silent: true}
	}
	return nil
}

// pruned lists what the reconciler would prune: objects of the live
// inventory that the build no longer has and that still exist as ours.
func (o *Options) pruned(ctx context.Context, c client.Client, live *kustomizev1.Kustomization, objs []*unstructured.Unstructured) ([]string, error) {
	if live == nil || !live.Spec.Prune || live.Status.Inventory == nil {
		return nil, nil
	}
	keep := map[string]bool{}
	for _, u := range objs {
		keep[ssa.ObjectID(u)] = true
	}
	var out []string
	for _, e := range live.Status.Inventory.Entries {
		if keep[e.ID] {
			continue
		}
		u, err := ssa.ObjectFromID(e.ID, e.Version)
		if err != nil {
			return nil, err
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("%s: %w", ssa.Subject(u), err)
		}
		if u.GetLabels()[kustomizev1.NameLabel] == live.Name && u.GetLabels()[kustomizev1.NamespaceLabel] == live.Namespace &&
			u.GetAnnotations()[ssa.PruneAnnotation] != ssa.DisabledValue {
			out = append(out, ssa.Subject(u))
		}
	}
	return out, nil
}

// printDiff writes a unified diff of the live and merged object, without
// the fields the server maintains.
func printDiff(w io.Writer, d ssa.Diff) error {
	a, err := yamlOf(build.MaskSecret(d.Live, nil))
	if err != nil {
		return err
	}
	b, err := yamlOf(build.MaskSecret(d.Merged, d.Live))
	if err != nil {
		return err
	}
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(a), B: difflib.SplitLines(b),
		FromFile: "live " + d.Subject, ToFile: "merged " + d.Subject, Context: 3,
	})
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, text)
	return err
}

func yamlOf(u *unstructured.Unstructured) (string, error) {
	if u == nil {
		return "", nil
	}
	c := u.DeepCopy()
	c.SetManagedFields(nil)
	c.SetResourceVersion("")
	c.SetGeneration(0)
	unstructured.RemoveNestedField(c.Object, "status")
	data, err := yaml.Marshal(c.Object)
	return string(data), err
}
