// Package suspend implements `tether suspend`: stop reconciling objects until
// they are resumed.
package suspend

import (
	"context"

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
		sel := kinds.Selection{Names: &opts.Names, All: &opts.All, Namespace: &opts.Namespace}
		c := kinds.SelectionCommand(f, k, "suspend", sel, func(cmd *cobra.Command) error {
			if runF != nil {
				return runF(opts)
			}
			return opts.Run(cmd.Context())
		})
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
