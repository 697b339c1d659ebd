// Package suspend implements `tether suspend`: stop reconciling objects until
// they are resumed.
package suspend

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

// Options are the flags and clients of `tether suspend <kind> NAME...`.
type Options struct {
	IO     *iostreams.IOStreams
	Client func() (client.Client, error)

	Kind      *kinds.Kind
	Names     []string
	All       bool
	Namespace string
}

// NewCmdSuspend returns `tether suspend` with a subcommand per kind.
func NewCmdSuspend(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "suspend",
		Short: "Stop reconciling objects until they are resumed",
		Long: `Suspend sets spec.suspend on objects: the reconciler leaves them (and what
they applied) alone until tether resume. Changes made in the cluster in the
meantime are not reverted.`,
		Example: `  # Stop applying a Kustomization while debugging in the cluster
  tether suspend kustomization apps

  # Every Git source of the namespace
  tether suspend source git --all -n flux-apps`,
		Args: cobra.NoArgs,
	}
	kinds.AddCommands(cmd, func(k *kinds.Kind) *cobra.Command {
		opts := &Options{IO: f.IOStreams, Client: f.Client, Kind: k}
		c := &cobra.Command{
			Use:               k.Name + " [NAME...]",
			Short:             fmt.Sprintf("Suspend %s objects", k.Kind),
			ValidArgsFunction: kinds.CompleteNames(f, k, false),
			RunE: func(cmd *cobra.Command, args []string) error {
				opts.Names = args
				opts.Namespace = f.Namespace()
				if err := kinds.CheckSelection(k, "suspend", opts.Names, opts.All); err != nil {
					return err
				}
				if runF != nil {
					return runF(opts)
				}
				return opts.Run(cmd.Context())
			},
		}
		c.Flags().BoolVar(&opts.All, "all", false, "suspend every "+k.Kind+" of the namespace")
		return c
	})
	return cmd
}

// Run suspends the selected objects.
func (o *Options) Run(ctx context.Context) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	objs, err := kinds.Select(ctx, c, o.Kind, o.Namespace, o.Names, o.All)
	if err != nil {
		return err
	}
	yes := true
	for _, obj := range objs {
		if err := (kinds.Change{Suspend: &yes}).Apply(ctx, c, o.Kind, obj); err != nil {
			return err
		}
		o.IO.Success("%s %s/%s suspended", o.Kind.Kind, obj.GetNamespace(), obj.GetName())
	}
	return nil
}
