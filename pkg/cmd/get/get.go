// Package get implements `tether get`: tables of sources, Kustomizations and
// HelmReleases with their revision and readiness, for every kind through the
// adapters of package kinds.
package get

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	kprinters "k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/printers"
)

// Options are the flags and clients of one `tether get` command.
type Options struct {
	IO *iostreams.IOStreams
	// Client returns the cluster client (a fake one in tests).
	Client func() (client.WithWatch, error)
	// Now is the clock of the AGE column.
	Now func() time.Time

	// Kinds are the kinds to show; with more than one, names are prefixed
	// with the kind and each kind gets its own table.
	Kinds []*kinds.Kind
	// Name selects one object (optional).
	Name          string
	Namespace     string
	AllNamespaces bool
	// StatusSelector is "<condition type>=<status>", e.g. ready=false.
	StatusSelector string
	Watch          bool
	PrintFlags     *genericclioptions.PrintFlags
}

// NewCmdGet returns `tether get` and its subcommands.
func NewCmdGet(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get",
		Short: "Show sources, Kustomizations and HelmReleases with their status",
		Long: `Get shows Tether objects as a table: the revision they fetched or applied,
whether they are suspended, their Ready condition and its message. Use -o
yaml|json|name for the objects themselves, -o wide for more columns.`,
		Example: `  # Git sources in the current namespace
  tether get sources git

  # Everything that is not ready, in all namespaces
  tether get all -A --status-selector ready=false

  # Follow the Kustomizations as they change
  tether get ks --watch`,
		Args: cobra.ArbitraryArgs,
		RunE: kinds.GroupRunE,
	}
	sources := leaf(f, runF, "sources", []string{"source"}, kinds.Sources(), "Show all sources")
	sources.Long = "Show sources: git (GitRepository), helm (HelmRepository), chart (HelmChart), bucket (Bucket), oci (OCIRepository). Without a kind, all of them."
	sources.AddCommand(leaf(f, runF, "all", nil, kinds.Sources(), "Show all sources"))
	for _, k := range kinds.All {
		c := leaf(f, runF, k.Plural, k.GetAliases(), []*kinds.Kind{k}, "Show "+k.Kind+" objects")
		if k.Source {
			sources.AddCommand(c)
		} else {
			cmd.AddCommand(c)
		}
	}
	cmd.AddCommand(sources, leaf(f, runF, "all", nil, kinds.All, "Show all sources, Kustomizations and HelmReleases"))
	return cmd
}

func leaf(f *cmdutil.Factory, runF func(*Options) error, use string, aliases []string, ks []*kinds.Kind, short string) *cobra.Command {
	opts := &Options{
		IO:         f.IOStreams,
		Client:     f.WatchClient,
		Now:        time.Now,
		Kinds:      ks,
		PrintFlags: newPrintFlags(),
	}
	cmd := &cobra.Command{
		Use:     use,
		Aliases: aliases,
		Short:   short,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Name = args[0]
			}
			opts.Namespace = f.Namespace()
			if err := opts.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return opts.Run(cmd.Context())
		},
	}
	if len(ks) == 1 {
		cmd.Use += " [NAME]"
		cmd.Args = cobra.MaximumNArgs(1)
		cmd.ValidArgsFunction = kinds.CompleteNames(f, ks[0], true)
	}
	cmd.Flags().BoolVarP(&opts.AllNamespaces, "all-namespaces", "A", false, "list the objects of all namespaces")
	cmd.Flags().StringVar(&opts.StatusSelector, "status-selector", "", "show only objects whose condition has this status, as type=status (e.g. ready=false)")
	cmd.Flags().BoolVarP(&opts.Watch, "watch", "w", false, "after listing, print objects again as they change, and once more when deleted (MESSAGE (deleted) in a table)")
	opts.PrintFlags.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "output format: wide, yaml, json, name (or the templates of kubectl: jsonpath=..., go-template=...)"
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"wide", "yaml", "json", "name"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("status-selector", cobra.FixedCompletions([]string{"ready=true", "ready=false", "ready=unknown"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func newPrintFlags() *genericclioptions.PrintFlags {
	return genericclioptions.NewPrintFlags("").WithTypeSetter(cmdutil.Scheme())
}

// Validate checks the flags.
func (o *Options) Validate() error {
	if _, _, err := parseStatusSelector(o.StatusSelector); err != nil {
		return err
	}
	if o.Name != "" && o.AllNamespaces {
		return cmdutil.UsageErrorf("a NAME and --all-namespaces do not go together: pass -n NAMESPACE")
	}
	if !o.table() {
		if _, err := o.PrintFlags.ToPrinter(); err != nil {
			return cmdutil.UsageErrorf("invalid --output %q: use wide, yaml, json or name", *o.PrintFlags.OutputFormat)
		}
	}
	return nil
}

func (o *Options) table() bool {
	f := *o.PrintFlags.OutputFormat
	return f == "" || f == "wide"
}

// parseStatusSelector parses "type=status"; the empty selector selects all.
func parseStatusSelector(s string) (condType string, status metav1.ConditionStatus, err error) {
	if s == "" {
		return "", "", nil
	}
	t, v, ok := strings.Cut(s, "=")
	t, v = strings.TrimSpace(t), strings.TrimSpace(v)
	if !ok || t == "" || v == "" {
		return "", "", cmdutil.UsageErrorf("invalid --status-selector %q: use <condition type>=<True|False|Unknown>, e.g. ready=false", s)
	}
	for _, st := range []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown} {
		if strings.EqualFold(v, string(st)) {
			return t, st, nil
		}
	}
	return "", "", cmdutil.UsageErrorf("invalid --status-selector %q: the status must be True, False or Unknown", s)
}

// matches reports whether o passes the status selector. An object without
// the condition counts as Unknown.
func matches(o kinds.Object, condType string, status metav1.ConditionStatus) bool {
	if condType == "" {
		return true
	}
	for _, c := range o.GetConditions() {
		if strings.EqualFold(c.Type, condType) {
			return c.Status == status
		}
	}
	return status == metav1.ConditionUnknown
}

// Run lists the objects, prints them, and with --watch follows them.
func (o *Options) Run(ctx context.Context) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	ns := o.Namespace
	if o.AllNamespaces {
		ns = ""
	}
	condType, status, _ := parseStatusSelector(o.StatusSelector)
	w := &writer{o: o, printers: map[*kinds.Kind]*printers.TablePrinter{}, seen: map[string]string{}}
	if !o.table() {
		w.printer, _ = o.PrintFlags.ToPrinter()
	}

	found := map[*kinds.Kind][]kinds.Object{}
	total, existing := 0, 0
	for _, k := range o.Kinds {
		objs, err := o.list(ctx, c, k, ns)
		if err != nil {
			return err
		}
		existing += len(objs)
		for _, obj := range objs {
			w.seen[key(k, obj)] = obj.GetResourceVersion()
			if matches(obj, condType, status) {
				found[k] = append(found[k], obj)
				total++
			}
		}
	}
	// A named object that does not exist is an error; one that exists but
	// does not pass --status-selector is, as with kubectl's selectors, just
	// nothing to print.
	if existing == 0 && o.Name != "" && !o.Watch {
		return kinds.NotFound(o.Kinds[0], ns, o.Name)
	}
	if total == 0 {
		if ns == "" {
			fmt.Fprintln(o.IO.ErrOut, "No resources found")
		} else {
			fmt.Fprintf(o.IO.ErrOut, "No resources found in %s namespace.\n", ns)
		}
	} else if err := w.printAll(found); err != nil {
		return err
	}
	if !o.Watch {
		return nil
	}
	return o.watch(ctx, c, ns, w, condType, status)
}

func (o *Options) list(ctx context.Context, c client.Client, k *kinds.Kind, ns string) ([]kinds.Object, error) {
	if o.Name != "" {
		obj, err := kinds.Get(ctx, c, k, ns, o.Name)
		if kinds.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []kinds.Object{obj}, nil
	}
	objs, err := kinds.ListIn(ctx, c, k, ns)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(objs, func(i, j int) bool {
		if objs[i].GetNamespace() != objs[j].GetNamespace() {
			return objs[i].GetNamespace() < objs[j].GetNamespace()
		}
		return objs[i].GetName() < objs[j].GetName()
	})
	return objs, nil
}

// watch prints the objects of every kind again each time they change, until
// ctx ends.
func (o *Options) watch(ctx context.Context, c client.WithWatch, ns string, w *writer, condType string, status metav1.ConditionStatus) error {
	type event struct {
		k       *kinds.Kind
		obj     kinds.Object
		deleted bool
	}
	events := make(chan event)
	errs := make(chan error, len(o.Kinds))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, k := range o.Kinds {
		go func() {
			errs <- watchKind(ctx, c, k, ns, o.Name, func(obj kinds.Object, deleted bool) {
				select {
				case events <- event{k, obj, deleted}:
				case <-ctx.Done():
				}
			})
		}()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errs:
			if err != nil && ctx.Err() == nil {
				return err
			}
		case ev := <-events:
			if !matches(ev.obj, condType, status) {
				continue
			}
			if ev.deleted {
				delete(w.seen, key(ev.k, ev.obj))
				if err := w.printDeleted(ev.k, ev.obj); err != nil {
					return err
				}
				continue
			}
			if w.seen[key(ev.k, ev.obj)] == ev.obj.GetResourceVersion() {
				continue
			}
			w.seen[key(ev.k, ev.obj)] = ev.obj.GetResourceVersion()
			if err := w.print(ev.k, []kinds.Object{ev.obj}); err != nil {
				return err
			}
		}
	}
}

// watchKind calls changed for every object of k that is added, modified or
// deleted (with its last state), starting the watch again when the server
// closes it, until ctx ends.
func watchKind(ctx context.Context, c client.WithWatch, k *kinds.Kind, ns, name string, changed func(obj kinds.Object, deleted bool)) error {
	opts := []client.ListOption{}
	if ns != "" {
		opts = append(opts, client.InNamespace(ns))
	}
	if name != "" {
		opts = append(opts, client.MatchingFields{"metadata.name": name})
	}
	for ctx.Err() == nil {
		wi, err := c.Watch(ctx, k.NewList(), opts...)
		if err != nil {
			return fmt.Errorf("watching %s: %w", k.Kind, err)
		}
		for ev := range wi.ResultChan() {
			if ev.Type != watch.Added && ev.Type != watch.Modified && ev.Type != watch.Deleted {
				continue
			}
			if obj, ok := ev.Object.(kinds.Object); ok {
				k.SetType(obj)
				changed(obj, ev.Type == watch.Deleted)
			}
		}
		wi.Stop()
	}
	return nil
}

func key(k *kinds.Kind, o kinds.Object) string {
	return k.Kind + "/" + o.GetNamespace() + "/" + o.GetName()
}

// Columns of the table; the wide ones come last.
var columns = []printers.Column{
	{Name: "Name"}, {Name: "Revision"}, {Name: "Suspended"}, {Name: "Ready"}, {Name: "Message"}, {Name: "Age"},
	{Name: "Source", Wide: true}, {Name: "Reason", Wide: true},
}

// Row returns the cells of an object's row.
func Row(k *kinds.Kind, obj kinds.Object, now time.Time) printers.Row {
	ready, reason, msg := meta.ReadyStatus(obj)
	if ready == "" {
		ready = metav1.ConditionUnknown
	}
	suspended := "False"
	if obj.IsSuspended() {
		suspended = "True"
	}
	return printers.Row{Object: obj, Cells: []any{
		obj.GetName(), k.Revision(obj), suspended, string(ready), firstLine(msg),
		printers.Age(obj.GetCreationTimestamp(), now), k.Origin(obj), reason,
	}}
}

// firstLine keeps a table row on one line.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// writer prints objects in the chosen format: a table per kind, or with the
// cli-runtime printer of -o.
type writer struct {
	o        *Options
	printer  kprinters.ResourcePrinter
	printers map[*kinds.Kind]*printers.TablePrinter
	// seen holds the resourceVersion last printed of each object, so that a
	// watch prints only real changes.
	seen    map[string]string
	printed int
}

func (w *writer) printAll(found map[*kinds.Kind][]kinds.Object) error {
	if !w.o.table() && (w.o.Name == "" || len(w.o.Kinds) > 1) {
		// Like kubectl: a list of objects is printed as one List.
		list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}}
		for _, k := range w.o.Kinds {
			for _, obj := range found[k] {
				u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
				if err != nil {
					return err
				}
				list.Items = append(list.Items, unstructured.Unstructured{Object: u})
			}
		}
		return w.printer.PrintObj(list, w.o.IO.Out)
	}
	for _, k := range w.o.Kinds {
		if len(found[k]) == 0 {
			continue
		}
		if err := w.print(k, found[k]); err != nil {
			return err
		}
	}
	return nil
}

// DeletedMessage replaces the MESSAGE of a deleted object's last row in
// a watched table.
const DeletedMessage = "(deleted)"

// printDeleted prints the last state of a deleted object: its row marked
// deleted in a table, the object itself in the other formats (as kubectl
// does).
func (w *writer) printDeleted(k *kinds.Kind, obj kinds.Object) error {
	if !w.o.table() {
		return w.print(k, []kinds.Object{obj})
	}
	row := Row(k, obj, w.o.Now())
	row.Cells[4] = DeletedMessage
	return w.printRows(k, []printers.Row{row})
}

func (w *writer) print(k *kinds.Kind, objs []kinds.Object) error {
	if !w.o.table() {
		for _, obj := range objs {
			if err := w.printer.PrintObj(obj, w.o.IO.Out); err != nil {
				return err
			}
		}
		return nil
	}
	rows := make([]printers.Row, len(objs))
	for i, obj := range objs {
		rows[i] = Row(k, obj, w.o.Now())
	}
	return w.printRows(k, rows)
}

func (w *writer) printRows(k *kinds.Kind, rows []printers.Row) error {
	p, ok := w.printers[k]
	if !ok {
		if w.printed > 0 {
			fmt.Fprintln(w.o.IO.Out)
		}
		opts := printers.Options{WithNamespace: w.o.AllNamespaces, Wide: *w.o.PrintFlags.OutputFormat == "wide"}
		if len(w.o.Kinds) > 1 {
			opts.Kind = k.Kind
		}
		p = printers.NewTablePrinter(w.o.IO.Out, columns, opts)
		w.printers[k] = p
	}
	w.printed++
	return p.Print(rows)
}
