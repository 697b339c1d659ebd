// Package tree implements `tether tree kustomization NAME`: the objects a
// Kustomization applied (its inventory) as a tree, with the Kustomizations
// and HelmReleases it applied expanded in turn.
package tree

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/ssa"
)

// Options are the flags and clients of `tether tree kustomization NAME`.
type Options struct {
	IO     *iostreams.IOStreams
	Client func() (client.Client, error)

	Name      string
	Namespace string
	// Output is "" for the tree, or "json".
	Output string
	// ReleaseObjects returns the objects of the current release of a
	// HelmRelease (from Helm's release records); nil shows the release
	// without its objects.
	ReleaseObjects ReleaseObjectsFunc
}

// ReleaseObjectsFunc reads the objects of a HelmRelease's current release.
type ReleaseObjectsFunc func(ctx context.Context, hr *helmv1.HelmRelease) ([]*unstructured.Unstructured, error)

// Node is an object of the tree.
type Node struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// Revision is what a Kustomization applied, or the chart version a
	// HelmRelease installed.
	Revision string `json:"revision,omitempty"`
	// Note says why a Kustomization or HelmRelease is not expanded.
	Note     string  `json:"note,omitempty"`
	Children []*Node `json:"children,omitempty"`
}

// NewCmdTree returns `tether tree` with its kustomization subcommand.
func NewCmdTree(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tree",
		Short: "Show the objects a Kustomization applied, as a tree",
		Args:  cobra.ArbitraryArgs,
		RunE:  kinds.GroupRunE,
	}
	opts := &Options{IO: f.IOStreams, Client: f.Client, ReleaseObjects: HelmReleaseObjects(f)}
	ks := &cobra.Command{
		Use:     "kustomization NAME",
		Aliases: []string{"ks", "kustomizations"},
		Short:   "Show the inventory of a Kustomization, nested Kustomizations expanded",
		Long: `Tree prints the objects that a Kustomization applied, read from its inventory
(status.inventory). The Kustomizations among them are expanded with their own
inventories, recursively; a HelmRelease shows its current release and the
objects of that release, read from Helm's release record.`,
		Example: `  # The objects of the Kustomization apps
  tether tree kustomization apps -n tether-system

  # As JSON, for scripts
  tether tree ks apps -o json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: kinds.CompleteNames(f, kinds.Kustomization, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			opts.Namespace = f.Namespace()
			if opts.Output != "" && opts.Output != "json" {
				return cmdutil.UsageErrorf("invalid --output %q: use json, or leave it out for the tree", opts.Output)
			}
			if runF != nil {
				return runF(opts)
			}
			return opts.Run(cmd.Context())
		},
	}
	ks.Flags().StringVarP(&opts.Output, "output", "o", "", "output format: json (default: a tree)")
	_ = ks.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.AddCommand(ks)
	return cmd
}

// Run reads the Kustomization and prints its tree.
func (o *Options) Run(ctx context.Context) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	root, err := Build(ctx, c, o.Namespace, o.Name, o.ReleaseObjects)
	if err != nil {
		return err
	}
	if o.Output == "json" {
		enc := json.NewEncoder(o.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(root)
	}
	Print(o.IO.Out, root)
	return nil
}

var (
	kustomizationGK = kustomizev1.GroupVersion.WithKind("Kustomization").GroupKind()
	helmReleaseGK   = helmv1.GroupVersion.WithKind("HelmRelease").GroupKind()
)

// Build reads the Kustomization namespace/name and, recursively, the
// Kustomizations of its inventory and the releases of its HelmReleases
// (their objects when releaseObjects is set).
func Build(ctx context.Context, c client.Client, namespace, name string, releaseObjects ReleaseObjectsFunc) (*Node, error) {
	return BuildFor(ctx, c, kinds.Kustomization, namespace, name, releaseObjects)
}

// BuildFor is Build for an object of any Tether kind: a HelmRelease expands
// to its release, a source has no children.
func BuildFor(ctx context.Context, c client.Client, k *kinds.Kind, namespace, name string, releaseObjects ReleaseObjectsFunc) (*Node, error) {
	obj, err := kinds.Get(ctx, c, k, namespace, name)
	if err != nil {
		return nil, err
	}
	root := &Node{APIVersion: k.GVK.GroupVersion().String(), Kind: k.Kind, Namespace: namespace, Name: name}
	t := &treeBuilder{c: c, releaseObjects: releaseObjects, visited: map[string]bool{}}
	switch obj := obj.(type) {
	case *kustomizev1.Kustomization:
		t.expandKustomization(ctx, root, obj)
	case *helmv1.HelmRelease:
		t.expandHelmRelease(ctx, root)
	}
	return root, nil
}

// Walk calls fn for n and every node below it.
func (n *Node) Walk(fn func(*Node)) {
	fn(n)
	for _, c := range n.Children {
		c.Walk(fn)
	}
}

type treeBuilder struct {
	c              client.Client
	releaseObjects ReleaseObjectsFunc
	visited        map[string]bool
}

func (t *treeBuilder) expandKustomization(ctx context.Context, n *Node, ks *kustomizev1.Kustomization) {
	key := ks.Namespace + "/" + ks.Name
	if t.visited[key] {
		n.Note = "already shown above"
		return
	}
	t.visited[key] = true
	n.Revision = ks.Status.LastAppliedRevision
	if ks.Status.Inventory == nil {
		n.Note = "no inventory yet"
		return
	}
	for _, e := range ks.Status.Inventory.Entries {
		u, err := ssa.ObjectFromID(e.ID, e.Version)
		if err != nil {
			n.Children = append(n.Children, &Node{Kind: "?", Name: e.ID, Note: err.Error()})
			continue
		}
		gvk := u.GroupVersionKind()
		child := &Node{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
		switch gvk.GroupKind() {
		case kustomizationGK:
			var nested kustomizev1.Kustomization
			if err := t.c.Get(ctx, client.ObjectKey{Namespace: child.Namespace, Name: child.Name}, &nested); err != nil {
				child.Note = readNote(err)
			} else {
				t.expandKustomization(ctx, child, &nested)
			}
		case helmReleaseGK:
			t.expandHelmRelease(ctx, child)
		}
		n.Children = append(n.Children, child)
	}
	sortNodes(n.Children)
}

// expandHelmRelease shows the HelmRelease's current release (name,
// namespace, chart version, from the history in its status) and, with
// releaseObjects, the objects of the release.
func (t *treeBuilder) expandHelmRelease(ctx context.Context, n *Node) {
	var hr helmv1.HelmRelease
	if err := t.c.Get(ctx, client.ObjectKey{Namespace: n.Namespace, Name: n.Name}, &hr); err != nil {
		n.Note = readNote(err)
		return
	}
	latest := hr.Status.History.Latest()
	if latest == nil {
		n.Note = "not released yet"
		return
	}
	n.Revision = latest.ChartVersion
	rel := &Node{
		Kind:      "Release",
		Namespace: latest.Namespace,
		Name:      fmt.Sprintf("%s.v%d", latest.Name, latest.Version),
		Revision:  latest.ChartName + "@" + latest.ChartVersion,
	}
	n.Children = append(n.Children, rel)
	if t.releaseObjects == nil {
		return
	}
	objs, err := t.releaseObjects(ctx, &hr)
	if err != nil {
		rel.Note = "objects not read: " + err.Error()
		return
	}
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		ns := u.GetNamespace()
		if ns == "" && t.namespaced(gvk) {
			ns = latest.Namespace // Helm leaves the release namespace out of templates
		}
		child := &Node{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Namespace: ns, Name: u.GetName()}
		if gvk.GroupKind() == kustomizationGK {
			var nested kustomizev1.Kustomization
			if err := t.c.Get(ctx, client.ObjectKey{Namespace: child.Namespace, Name: child.Name}, &nested); err == nil {
				t.expandKustomization(ctx, child, &nested)
			}
		}
		rel.Children = append(rel.Children, child)
	}
	sortNodes(rel.Children)
}

// namespaced reports whether objects of gvk live in a namespace; unknown
// kinds are taken to.
func (t *treeBuilder) namespaced(gvk schema.GroupVersionKind) bool {
	ok, err := t.c.IsObjectNamespaced(&unstructured.Unstructured{Object: map[string]any{"apiVersion": gvk.GroupVersion().String(), "kind": gvk.Kind}})
	return err != nil || ok
}

func readNote(err error) string {
	if apierrors.IsNotFound(err) {
		return "not found"
	}
	return "cannot read: " + err.Error()
}

// sortNodes orders the children by kind, namespace and name, Kustomizations
// and HelmReleases last so that the leaves come first.
func sortNodes(ns []*Node) {
	rank := func(n *Node) int {
		if n.Kind == "Kustomization" || n.Kind == "HelmRelease" {
			return 1
		}
		return 0
	}
	sort.SliceStable(ns, func(i, j int) bool {
		a, b := ns[i], ns[j]
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}

// Label is how the tree shows a node: Kind/namespace/name, or Kind/name for
// a cluster-scoped object, with its revision and note.
func (n *Node) Label() string {
	var b strings.Builder
	b.WriteString(n.Kind + "/")
	if n.Namespace != "" {
		b.WriteString(n.Namespace + "/")
	}
	b.WriteString(n.Name)
	if n.Revision != "" {
		b.WriteString(" (" + n.Revision + ")")
	}
	if n.Note != "" {
		b.WriteString(" [" + n.Note + "]")
	}
	return b.String()
}

// Print writes the tree with box-drawing branches.
func Print(w io.Writer, root *Node) {
	fmt.Fprintln(w, root.Label())
	printChildren(w, root.Children, "")
}

func printChildren(w io.Writer, children []*Node, prefix string) {
	for i, c := range children {
		branch, next := "├── ", "│   "
		if i == len(children)-1 {
			branch, next = "└── ", "    "
		}
		fmt.Fprintln(w, prefix+branch+c.Label())
		printChildren(w, c.Children, prefix+next)
	}
}
