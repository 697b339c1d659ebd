// Package resume implements `tether resume`: reconcile suspended objects
// again, at once, and wait for them to be Ready.
package resume

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

// Options are the flags and clients of `tether resume <kind> NAME...`.
type Options struct {
	IO     *iostreams.IOStreams
	Client func() (client.Client, error)
	// Now is the clock of the reconcile request value.
	Now func() time.Time
	// PollInterval between reads while waiting.
	PollInterval time.Duration

	Kind      *kinds.Kind
	Names     []string
	All       bool
	Namespace string
	Wait      bool
	Timeout   time.Duration
}

// NewCmdResume returns `tether resume` with a subcommand per kind.
func NewCmdResume(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "resume",
		Short: "Reconcile suspended objects again and wait for them",
		Long: `Resume clears spec.suspend on objects and asks for a reconciliation at once,
then waits until each is reconciled and prints its revision (--wait=false
returns at once). It exits 1 when an object is not Ready.`,
		Example: `  # Apply a Kustomization again, reverting changes made while it was suspended
  tether resume kustomization apps

  # Every HelmRelease of the namespace, without waiting
  tether resume helmrelease --all --wait=false`,
		Args: cobra.NoArgs,
	}
	kinds.AddCommands(cmd, func(k *kinds.Kind) *cobra.Command {
		opts := &Options{IO: f.IOStreams, Client: f.Client, Now: time.Now, Kind: k}
		sel := kinds.Selection{Names: &opts.Names, All: &opts.All, Namespace: &opts.Namespace}
		c := kinds.SelectionCommand(f, k, "resume", sel, func(cmd *cobra.Command) error {
			if runF != nil {
				return runF(opts)
			}
			return opts.Run(cmd.Context())
		})
		c.Flags().BoolVar(&opts.Wait, "wait", true, "wait for the objects to be reconciled")
		c.Flags().DurationVar(&opts.Timeout, "timeout", 5*time.Minute, "how long to wait")
		return c
	})
	return cmd
}

// Run resumes the selected objects, then waits for each.
func (o *Options) Run(ctx context.Context) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	objs, err := kinds.Select(ctx, c, o.Kind, o.Namespace, o.Names, o.All)
	if err != nil {
		return err
	}
	r := &kinds.Requester{IO: o.IO, Client: c, Now: o.Now, Interval: o.PollInterval}
	no := false
	values := make([]string, len(objs))
	for i, obj := range objs {
		if values[i], err = r.Request(ctx, o.Kind, obj, kinds.Change{Suspend: &no}); err != nil {
			return err
		}
		o.IO.Success("%s %s/%s resumed", o.Kind.Kind, obj.GetNamespace(), obj.GetName())
	}
	if !o.Wait {
		return nil
	}
	var errs []error
	for i, obj := range objs {
		if err := r.Wait(ctx, o.Kind, obj.GetNamespace(), obj.GetName(), values[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
