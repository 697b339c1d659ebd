package kinds

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tether-gitops/tether/pkg/cmdutil"
)

// AddCommands adds a verb's command for every kind to parent: the sources
// under "source" (`tether suspend source git NAME`), the others directly
// (`tether suspend kustomization NAME`). leaf builds the command of one kind;
// its Use starts with the kind's noun and its aliases are set here.
func AddCommands(parent *cobra.Command, leaf func(k *Kind) *cobra.Command) {
	source := &cobra.Command{
		Use:     "source",
		Aliases: []string{"sources"},
		Short:   "Sources: git, helm, chart, bucket, oci",
		Long:    parent.Short + ". Sources: git (GitRepository), helm (HelmRepository), chart (HelmChart), bucket (Bucket), oci (OCIRepository).",
		Args:    cobra.ArbitraryArgs,
		RunE:    GroupRunE,
	}
	if parent.RunE == nil {
		parent.Args, parent.RunE = cobra.ArbitraryArgs, GroupRunE
	}
	parent.AddCommand(source)
	for _, k := range All {
		cmd := leaf(k)
		cmd.Aliases = k.aliases(k.Name)
		if k.Source {
			source.AddCommand(cmd)
		} else {
			parent.AddCommand(cmd)
		}
	}
}

// aliases are every noun of the kind but use.
func (k *Kind) aliases(use string) []string {
	var out []string
	for _, a := range append([]string{k.Name, k.Plural}, k.Aliases...) {
		if a != use && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// GetAliases are the nouns of `tether get` other than the plural.
func (k *Kind) GetAliases() []string { return k.aliases(k.Plural) }

// CompleteNames completes object names of kind k in the namespace of -n (or
// the kubeconfig's), leaving out names already on the command line; with
// single set, only the first argument is completed.
func CompleteNames(f *cmdutil.Factory, k *Kind, single bool) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if single && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := f.Client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		objs, err := ListIn(ctx, c, k, f.Namespace())
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var names []cobra.Completion
		for _, o := range objs {
			if strings.HasPrefix(o.GetName(), toComplete) && !slices.Contains(args, o.GetName()) {
				names = append(names, o.GetName())
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// GroupRunE is the RunE of a command that only groups others (`tether
// reconcile`, `tether reconcile source`): it shows the help, and an unknown
// subcommand is an error rather than the help with exit 0.
func GroupRunE(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unknown command %q for %q: see %s --help", args[0], cmd.CommandPath(), cmd.CommandPath())
	}
	return cmd.Help()
}

// Selection is what a command that acts on several objects of one kind was
// asked for: NAME arguments, or --all, in a namespace.
type Selection struct {
	Names     *[]string
	All       *bool
	Namespace *string
}

// SelectionCommand builds the command of verb ("suspend", "export") for k:
// `<kind> [NAME...]` with --all, name completion and the check that exactly
// one of names and --all is given; it fills sel, then calls run.
func SelectionCommand(f *cmdutil.Factory, k *Kind, verb string, sel Selection, run func(cmd *cobra.Command) error) *cobra.Command {
	c := &cobra.Command{
		Use:               k.Name + " [NAME...]",
		Short:             fmt.Sprintf("%s %s objects", strings.ToUpper(verb[:1])+verb[1:], k.Kind),
		ValidArgsFunction: CompleteNames(f, k, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			*sel.Names, *sel.Namespace = args, f.Namespace()
			if err := CheckSelection(k, verb, *sel.Names, *sel.All); err != nil {
				return err
			}
			return run(cmd)
		},
	}
	c.Flags().BoolVar(sel.All, "all", false, verb+" every "+k.Kind+" of the namespace")
	return c
}
