// Package export implements `tether export`: objects as clean YAML to commit
// to Git, without status or the fields the API server and the tools add.
package export

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/printers"
)

// Options are the flags and clients of `tether export <kind> [NAME...]`.
type Options struct {
	IO     *iostreams.IOStreams
	Client func() (client.Client, error)

	Kind      *kinds.Kind
	Names     []string
	All       bool
	Namespace string
}

// NewCmdExport returns `tether export` with a subcommand per kind.
func NewCmdExport(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Print objects as YAML to commit to Git",
		Long: `Export prints objects as a YAML stream ready to commit: apiVersion, kind,
name, namespace, labels, annotations and spec; no status, and none of the
fields that the API server, kubectl and Tether add for their bookkeeping.`,
		Example: `  # One Kustomization
  tether export kustomization apps > apps.yaml

  # Every Git source of the namespace
  tether export source git --all > sources.yaml`,
		Args: cobra.NoArgs,
	}
	kinds.AddCommands(cmd, func(k *kinds.Kind) *cobra.Command {
		opts := &Options{IO: f.IOStreams, Client: f.Client, Kind: k}
		sel := kinds.Selection{Names: &opts.Names, All: &opts.All, Namespace: &opts.Namespace}
		c := kinds.SelectionCommand(f, k, "export", sel, func(cmd *cobra.Command) error {
			if runF != nil {
				return runF(opts)
			}
			return opts.Run(cmd.Context())
		})
		return c
	})
	return cmd
}

// Run prints the selected objects.
func (o *Options) Run(ctx context.Context) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	objs, err := kinds.Select(ctx, c, o.Kind, o.Namespace, o.Names, o.All)
	if err != nil {
		return err
	}
	docs := make([]any, 0, len(objs))
	for _, obj := range objs {
		doc, err := Clean(o.Kind, obj)
		if err != nil {
			return err
		}
		docs = append(docs, doc)
	}
	return printers.PrintYAMLDocuments(o.IO.Out, docs)
}

// Bookkeeping labels and annotations (by key prefix): set by tools and
// controllers, they do not belong in Git.
var (
	droppedAnnotations = []string{
		"reconcile.tether.dev/",                            // reconcile, force and reset requests
		"kubectl.kubernetes.io/last-applied-configuration", // kubectl apply
	}
	droppedLabels = []string{
		kustomizev1.NameLabel, kustomizev1.NamespaceLabel, // the Kustomization that applied the object
	}
)

// Clean returns the object as it would be written by hand: apiVersion, kind,
// metadata (name, namespace, labels, annotations without bookkeeping) and
// spec.
func Clean(k *kinds.Kind, obj kinds.Object) (map[string]any, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %s %s/%s: %w", k.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	md := map[string]any{"name": obj.GetName(), "namespace": obj.GetNamespace()}
	if l := without(obj.GetLabels(), droppedLabels); len(l) > 0 {
		md["labels"] = l
	}
	if a := without(obj.GetAnnotations(), droppedAnnotations); len(a) > 0 {
		md["annotations"] = a
	}
	doc := map[string]any{"apiVersion": k.GVK.GroupVersion().String(), "kind": k.Kind, "metadata": md}
	if spec, ok := u["spec"]; ok {
		doc["spec"] = spec
	}
	return doc, nil
}

func without(m map[string]string, prefixes []string) map[string]any {
	out := map[string]any{}
	for key, v := range maps.All(m) {
		drop := false
		for _, p := range prefixes {
			drop = drop || strings.HasPrefix(key, p)
		}
		if !drop {
			out[key] = v
		}
	}
	return out
}
