// Package reconcile implements `tether reconcile`: ask the reconciler to
// reconcile an object now, wait for it, and print the revision.
package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

// Options are the flags and clients of `tether reconcile <kind> NAME`.
type Options struct {
	IO     *iostreams.IOStreams
	Client func() (client.Client, error)
	// Now is the clock of the request value.
	Now func() time.Time
	// PollInterval between reads while waiting.
	PollInterval time.Duration

	Kind       *kinds.Kind
	Name       string
	Namespace  string
	WithSource bool
	Force      bool
	Reset      bool
	Timeout    time.Duration
}

// NewCmdReconcile returns `tether reconcile` with a subcommand per kind.
func NewCmdReconcile(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reconcile",
		Short: "Reconcile an object now and wait for the result",
		Long: `Reconcile asks the reconciler to reconcile an object out of its interval (it
sets the reconcile.tether.dev/requestedAt annotation), waits until the
request is handled and prints the revision fetched or applied. It exits 1
when the object is not Ready afterwards.`,
		Example: `  # Fetch the latest commit of a Git source
  tether reconcile source git podinfo

  # Fetch the source, then apply the Kustomization
  tether reconcile kustomization apps --with-source

  # Retry a HelmRelease whose retries are exhausted
  tether reconcile helmrelease podinfo --reset`,
		Args: cobra.NoArgs,
	}
	kinds.AddCommands(cmd, func(k *kinds.Kind) *cobra.Command {
		return newCmdKind(f, k, runF)
	})
	return cmd
}

func newCmdKind(f *cmdutil.Factory, k *kinds.Kind, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Client: f.Client, Now: time.Now, Kind: k}
	cmd := &cobra.Command{
		Use:               k.Name + " NAME",
		Short:             fmt.Sprintf("Reconcile a %s now", k.Kind),
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
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 5*time.Minute, "how long to wait for the reconciliation")
	if k.Upstream != nil {
		cmd.Flags().BoolVar(&opts.WithSource, "with-source", false, "reconcile the sources first: a HelmRelease's HelmChart and its HelmRepository")
	}
	if k == kinds.HelmRelease {
		cmd.Flags().BoolVar(&opts.Force, "force", false, "force a one-off upgrade, replacing resources (sets "+kinds.ForceRequestAnnotation+")")
		cmd.Flags().BoolVar(&opts.Reset, "reset", false, "reset the failure counters, so that exhausted retries start again (sets "+kinds.ResetRequestAnnotation+")")
	}
	return cmd
}

// Run requests the reconciliation (of the source first, with --with-source)
// and waits for it.
func (o *Options) Run(ctx context.Context) error {
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
	if err := suspended(o.Kind, obj); err != nil {
		return err
	}
	r := &kinds.Requester{IO: o.IO, Client: c, Now: o.Now, Interval: o.PollInterval}
	if o.WithSource {
		chain, err := o.sources(ctx, c, obj)
		if err != nil {
			return err
		}
		for _, src := range chain {
			if err := o.reconcile(ctx, r, src.kind, src.obj); err != nil {
				return err
			}
		}
	}
	var extra []string
	if o.Force {
		extra = append(extra, kinds.ForceRequestAnnotation)
	}
	if o.Reset {
		extra = append(extra, kinds.ResetRequestAnnotation)
	}
	return o.reconcile(ctx, r, o.Kind, obj, extra...)
}

type upstream struct {
	kind *kinds.Kind
	obj  kinds.Object
}

// sources lists what --with-source reconciles before obj, farthest first:
// a HelmRelease's HelmChart resolves versions against its HelmRepository's
// index, so that index is fetched again first, or a new chart version would
// not be seen until the repository's own interval.
func (o *Options) sources(ctx context.Context, c client.Client, obj kinds.Object) ([]upstream, error) {
	var chain []upstream
	k, cur := o.Kind, obj
	for range 3 {
		up, ok := k.UpstreamOf(cur)
		if !ok {
			break
		}
		src, err := kinds.Get(ctx, c, up.Kind, up.Namespace, up.Name)
		if err != nil {
			return nil, err
		}
		if err := suspended(up.Kind, src); err != nil {
			return nil, err
		}
		chain = append([]upstream{{up.Kind, src}}, chain...)
		k, cur = up.Kind, src
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("%s %s/%s has no source to reconcile yet: run without --with-source", o.Kind.Kind, o.Namespace, o.Name)
	}
	return chain, nil
}

func (o *Options) reconcile(ctx context.Context, r *kinds.Requester, k *kinds.Kind, obj kinds.Object, extra ...string) error {
	o.IO.Step("annotating %s %s/%s", k.Kind, obj.GetNamespace(), obj.GetName())
	value, err := r.Request(ctx, k, obj, kinds.Change{}, extra...)
	if err != nil {
		return err
	}
	return r.Wait(ctx, k, obj.GetNamespace(), obj.GetName(), value)
}

func suspended(k *kinds.Kind, obj kinds.Object) error {
	if !obj.IsSuspended() {
		return nil
	}
	return fmt.Errorf("%s %s/%s is suspended: run tether resume %s %s -n %s first", k.Kind, obj.GetNamespace(), obj.GetName(), k.Noun(), obj.GetName(), obj.GetNamespace())
}
