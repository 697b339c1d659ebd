// Package diff implements `tether diff kustomization`, a server-side dry-run
// of what the reconciler would apply and prune, and `tether diff
// helmrelease`, a Helm dry-run of the release the reconciler would make,
// each as a unified diff.
package diff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

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
	// A bad flag or argument is an error (2), not "changes" (1).
	cmd.SetFlagErrorFunc(usageError)
	cmd.AddCommand(newCmdKustomization(f, runF))
	cmd.AddCommand(NewCmdHelmRelease(f, nil))
	return cmd
}

func usageError(_ *cobra.Command, err error) error { return &cmdutil.ExitError{Code: 2, Err: err} }

// oneName accepts exactly one argument, the object's name; anything else
// exits with 2.
func oneName(cmd *cobra.Command, args []string) error {
	if err := cobra.ExactArgs(1)(cmd, args); err != nil {
		return usageError(cmd, err)
	}
	return nil
}

func newCmdKustomization(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{build.Options{Factory: f, IO: f.IOStreams}}
	cmd := &cobra.Command{
		Use:     "kustomization NAME [--path DIR]",
		Aliases: []string{"ks"},
		Short:   "Diff a local directory, built as the Kustomization would build it, with the cluster",
		Long: `Diff builds DIR as 'tether build kustomization' does, dry-runs the server-side
apply of every object as the reconciler would, and prints a unified diff of each
object that would change, and the objects that would be created or pruned.
Secret values are masked. Exit status: 0 no change, 1 changes, 2 error.

Without --path it builds the source's current artifact, as the reconciler does:
the diff is then what the next reconcile would change (drift).`,
		Example: `  tether diff kustomization apps --path ./clusters/prod/apps
  # Drift between the cluster and the source's current revision
  tether diff kustomization apps -n tether-system`,
		Args: oneName,
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
			return failed(err)
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
	return writeDiff(w, "live "+d.Subject, "merged "+d.Subject, d.Live, d.Merged)
}

// writeDiff writes a unified diff of a and b (either may be nil: an object
// created or deleted), Secret values masked, under the labels from and to.
func writeDiff(w io.Writer, from, to string, a, b *unstructured.Unstructured) error {
	before, err := yamlOf(build.MaskSecret(a, nil))
	if err != nil {
		return err
	}
	after, err := yamlOf(build.MaskSecret(b, a))
	if err != nil {
		return err
	}
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: splitLines(before), B: splitLines(after),
		FromFile: from, ToFile: to, Context: 3,
	})
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, text)
	return err
}

// splitLines splits s into lines that keep their "\n", with no empty line
// after the last one (difflib.SplitLines adds one).
func splitLines(s string) []string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\n"
	}
	return lines
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

// failed gives an error exit status 2: 1 means "changes".
func failed(err error) error {
	var exit *cmdutil.ExitError
	if err != nil && !errors.As(err, &exit) {
		err = &cmdutil.ExitError{Code: 2, Err: err}
	}
	return err
}
