// Package deletecmd implements `tether delete`: remove an object and wait
// for its finalizer (which cleans up artifacts, or what it applied).
package deletecmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

// Options are the flags and clients of `tether delete <kind> NAME`.
type Options struct {
	IO     *iostreams.IOStreams
	Client func() (client.Client, error)
	// PollInterval between reads while waiting.
	PollInterval time.Duration

	Kind      *kinds.Kind
	Name      string
	Namespace string
	Silent    bool
	Wait      bool
	Timeout   time.Duration
}

// NewCmdDelete returns `tether delete` with a subcommand per kind.
func NewCmdDelete(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a source, Kustomization or HelmRelease",
		Long: `Delete removes an object after asking for confirmation (--silent does not
ask; without a terminal it is required), and waits until the reconciler's
finalizer has run: a source's artifacts are removed, and a Kustomization with
spec.prune or a HelmRelease removes what it applied.`,
		Example: `  # Ask, then delete
  tether delete kustomization apps

  # In a script
  tether delete source git podinfo --silent`,
		Args: cobra.NoArgs,
	}
	kinds.AddCommands(cmd, func(k *kinds.Kind) *cobra.Command {
		opts := &Options{IO: f.IOStreams, Client: f.Client, Kind: k}
		c := &cobra.Command{
			Use:               k.Name + " NAME",
			Short:             fmt.Sprintf("Delete a %s", k.Kind),
			Args:              cobra.ExactArgs(1),
			ValidArgsFunction: kinds.CompleteNames(f, k, true),
			RunE: func(cmd *cobra.Command, args []string) error {
				opts.Name = args[0]
				opts.Namespace = f.Namespace()
				if runF != nil {
					return runF(opts)
				}
				return opts.Run(cmd.Context())
			},
		}
		c.Flags().BoolVar(&opts.Silent, "silent", false, "delete without asking for confirmation")
		c.Flags().BoolVarP(&opts.Silent, "yes", "y", false, "same as --silent")
		c.Flags().BoolVar(&opts.Wait, "wait", true, "wait until the object is gone (its finalizer has run)")
		c.Flags().DurationVar(&opts.Timeout, "timeout", 5*time.Minute, "how long to wait")
		return c
	})
	return cmd
}

// Run confirms, deletes and waits.
func (o *Options) Run(ctx context.Context) error {
	subject := fmt.Sprintf("%s %s/%s", o.Kind.Kind, o.Namespace, o.Name)
	if !o.Silent && !o.IO.CanPrompt() {
		return cmdutil.UsageErrorf("refusing to delete %s without confirmation: pass --silent when not on a terminal", subject)
	}
	c, err := o.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	obj, err := kinds.Get(ctx, c, o.Kind, o.Namespace, o.Name)
	if err != nil {
		return err
	}
	if !o.Silent {
		if o.Kind.Applies && !obj.IsSuspended() {
			o.IO.Warn("the finalizer of %s removes the objects it applied, unless pruning is off", subject)
		}
		if !o.IO.Confirm(fmt.Sprintf("Delete %s?", subject)) {
			return &cmdutil.ExitError{Code: 1, Err: fmt.Errorf("delete cancelled")}
		}
	}
	if err := c.Delete(ctx, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return kinds.NotFound(o.Kind, o.Namespace, o.Name)
		}
		return fmt.Errorf("deleting %s: %w", subject, err)
	}
	if o.Wait {
		p := cmdutil.StartProgress(o.IO, "waiting for %s to be finalized", subject)
		err := kinds.WaitGone(ctx, c, o.Kind, o.Namespace, o.Name, o.PollInterval)
		p.Stop()
		if err != nil {
			return err
		}
	}
	o.IO.Success("%s deleted", subject)
	return nil
}
