// Package events implements `tether events`: the Kubernetes events of
// Tether objects, and with --for those of one object and of the objects it
// applied, in time order.
package events

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmd/tree"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/printers"
)

// Options are the flags and clients of `tether events`.
type Options struct {
	IO     *iostreams.IOStreams
	Client func() (client.Client, error)
	Now    func() time.Time
	// ReleaseObjects reads the objects of a HelmRelease's release, so that
	// their events show with it; nil leaves them out.
	ReleaseObjects tree.ReleaseObjectsFunc

	Namespace     string
	AllNamespaces bool
	// For is Kind/name: only the events of that object and of what it
	// manages: a Kustomization's inventory, nested Kustomizations and
	// HelmReleases, a HelmRelease's release objects.
	For string
	// Types keeps only events of these types (Normal, Warning).
	Types []string
}

// NewCmdEvents returns `tether events`.
func NewCmdEvents(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Client: f.Client, Now: time.Now, ReleaseObjects: tree.HelmReleaseObjects(f)}
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show the events of Tether objects",
		Long: `Events lists the Kubernetes events of Tether objects (sources, Kustomizations,
HelmReleases), oldest first. With --for Kind/name it shows the events of that
object and of everything it manages, as 'tether tree' shows it: a
Kustomization's inventory, nested Kustomizations and HelmReleases, a
HelmRelease's release objects; so a failing Deployment's events show next to
the Kustomization's or HelmRelease's.`,
		Example: `  # Events of every Tether object in the namespace
  tether events -n apps

  # A Kustomization and the objects it applied
  tether events --for Kustomization/podinfo -n apps

  # Warnings in every namespace
  tether events -A --types Warning`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Namespace = f.Namespace()
			if opts.For != "" {
				if _, _, err := parseFor(opts.For); err != nil {
					return err
				}
				if opts.AllNamespaces {
					return cmdutil.UsageErrorf("--for and -A do not go together: --for names an object of the namespace of -n")
				}
			}
			for _, t := range opts.Types {
				if t != "Normal" && t != "Warning" {
					return cmdutil.UsageErrorf("invalid --types %q: use Normal or Warning", t)
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return opts.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVarP(&opts.AllNamespaces, "all-namespaces", "A", false, "events of every namespace")
	cmd.Flags().StringVar(&opts.For, "for", "", "only the events of this object and of the objects it applied: Kind/name (e.g. Kustomization/apps)")
	cmd.Flags().StringSliceVar(&opts.Types, "types", nil, "only events of these types: Normal, Warning")
	_ = cmd.RegisterFlagCompletionFunc("for", completeFor(f))
	return cmd
}

// parseFor parses Kind/name; Kind is a Tether kind or a CLI noun (ks, git, hr).
func parseFor(s string) (*kinds.Kind, string, error) {
	kind, name, ok := strings.Cut(s, "/")
	if !ok || kind == "" || name == "" {
		return nil, "", cmdutil.UsageErrorf("invalid --for %q: use Kind/name, e.g. Kustomization/apps", s)
	}
	if k, ok := kinds.ByKind(kind); ok {
		return k, name, nil
	}
	for _, k := range kinds.All {
		if strings.EqualFold(k.Name, kind) || strings.EqualFold(k.Plural, kind) || slices.Contains(k.Aliases, strings.ToLower(kind)) {
			return k, name, nil
		}
	}
	return nil, "", cmdutil.UsageErrorf("invalid --for %q: %s is not a Tether kind", s, kind)
}

// object is the involved object of an event, as events name it.
type object struct {
	group, kind, namespace, name string
}

// Run lists and prints the events.
func (o *Options) Run(ctx context.Context) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	var keep func(eventsv1.Event) bool
	namespaces := []string{o.Namespace}
	if o.AllNamespaces {
		namespaces = []string{""}
	}
	if o.For == "" {
		keep = func(e eventsv1.Event) bool { return isTether(e.Regarding.APIVersion) }
	} else {
		k, name, _ := parseFor(o.For)
		root, err := tree.BuildFor(ctx, c, k, o.Namespace, name, o.ReleaseObjects)
		if err != nil {
			return err
		}
		wanted := map[object]bool{}
		root.Walk(func(n *tree.Node) {
			gv, _ := schema.ParseGroupVersion(n.APIVersion)
			wanted[object{gv.Group, n.Kind, n.Namespace, n.Name}] = true
			if n.Namespace != "" && !slices.Contains(namespaces, n.Namespace) {
				namespaces = append(namespaces, n.Namespace)
			}
		})
		keep = func(e eventsv1.Event) bool {
			gv, _ := schema.ParseGroupVersion(e.Regarding.APIVersion)
			return wanted[object{gv.Group, e.Regarding.Kind, e.Regarding.Namespace, e.Regarding.Name}]
		}
	}
	var list []eventsv1.Event
	for _, ns := range namespaces {
		var el eventsv1.EventList
		var opts []client.ListOption
		if ns != "" {
			opts = append(opts, client.InNamespace(ns))
		}
		if err := c.List(ctx, &el, opts...); err != nil {
			return fmt.Errorf("listing events: %w", err)
		}
		for _, e := range el.Items {
			if keep(e) && (len(o.Types) == 0 || slices.Contains(o.Types, e.Type)) {
				list = append(list, e)
			}
		}
	}
	if len(list) == 0 {
		where := "namespace " + o.Namespace
		if o.AllNamespaces {
			where = "any namespace"
		}
		fmt.Fprintf(o.IO.ErrOut, "No events found in %s.\n", where)
		return nil
	}
	sort.SliceStable(list, func(i, j int) bool { return LastSeen(list[i]).Before(LastSeen(list[j])) })
	now := o.Now()
	rows := make([]printers.Row, 0, len(list))
	for i := range list {
		e := &list[i]
		rows = append(rows, printers.Row{Object: e, Cells: []any{
			age(LastSeen(*e), now), e.Type, e.Reason, e.Regarding.Kind + "/" + e.Regarding.Name, oneLine(e.Note),
		}})
	}
	cols := []printers.Column{{Name: "LAST SEEN"}, {Name: "TYPE"}, {Name: "REASON"}, {Name: "OBJECT"}, {Name: "MESSAGE"}}
	return printers.NewTablePrinter(o.IO.Out, cols, printers.Options{WithNamespace: o.AllNamespaces}).Print(rows)
}

// isTether reports whether an apiVersion is of one of Tether's API groups.
func isTether(apiVersion string) bool {
	gv, err := schema.ParseGroupVersion(apiVersion)
	return err == nil && strings.HasSuffix(gv.Group, ".tether.dev")
}

// LastSeen is when an event last happened: the last of its series, else its
// time, else the fields of the older events API.
func LastSeen(e eventsv1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.DeprecatedLastTimestamp.IsZero():
		return e.DeprecatedLastTimestamp.Time
	case !e.DeprecatedFirstTimestamp.IsZero():
		return e.DeprecatedFirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

func age(t, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	if t.After(now) {
		t = now
	}
	return printers.Age(metav1.NewTime(t), now)
}

func oneLine(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\n", " ")
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}

// completeFor completes Kind/name of the Tether objects of the namespace.
func completeFor(f *cmdutil.Factory) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		c, err := f.Client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var out []cobra.Completion
		for _, k := range kinds.All {
			objs, err := kinds.ListIn(ctx, c, k, f.Namespace())
			if err != nil {
				continue
			}
			for _, obj := range objs {
				if ref := k.Kind + "/" + obj.GetName(); strings.HasPrefix(ref, toComplete) {
					out = append(out, ref)
				}
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
