// Package build implements `tether build kustomization`: it renders a
// Kustomization's path as the reconciler would, with the same packages.
package build

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/kustomize"
)

// Masked replaces the values of Secrets in what the CLI prints.
const Masked = "***"

// Options are the flags of `tether build kustomization`.
type Options struct {
	Factory *cmdutil.Factory
	IO      *iostreams.IOStreams

	Name      string
	Namespace string
	// Path is the local directory to build in place of spec.path of the
	// source's artifact; empty builds the artifact itself, downloaded from
	// the reconciler.
	Path string
	// KustomizationFile holds the Kustomization to use instead of the
	// cluster's (for a Kustomization not created yet).
	KustomizationFile string
	// DryRun renders without a cluster: postBuild.substituteFrom and
	// decryption are skipped (encrypted files then fail the build).
	DryRun bool
}

// NewCmdBuild returns `tether build` with its `kustomization` subcommand.
func NewCmdBuild(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Render what the reconciler would apply",
	}
	cmd.AddCommand(newCmdKustomization(f, runF))
	return cmd
}

func newCmdKustomization(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f, IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:     "kustomization NAME [--path DIR]",
		Aliases: []string{"ks"},
		Short:   "Render a Kustomization, as the reconciler would",
		Long: `Build renders DIR with the Kustomization's spec (targetNamespace, patches,
images, components, postBuild substitution from the cluster's ConfigMaps and
Secrets, SOPS decryption with its keys) and the labels the reconciler adds, and
prints the objects as YAML. Secret values are masked.

Without --path it renders spec.path of the source's current artifact, which it
downloads from the reconciler's artifact server: what the reconciler applies.`,
		Example: `  tether build kustomization apps --path ./clusters/prod/apps
  tether build ks apps --path ./apps --kustomization-file ./clusters/prod/apps.yaml --dry-run
  # What the reconciler renders from the source's current revision
  tether build kustomization apps -n tether-system`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name, opts.Namespace = args[0], f.Namespace()
			if err := opts.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return opts.Run(cmd.Context())
		},
	}
	AddFlags(cmd, opts)
	return cmd
}

// AddFlags registers the flags that build and diff share.
func AddFlags(cmd *cobra.Command, opts *Options) {
	cmd.Flags().StringVar(&opts.Path, "path", "", "local directory to build in place of the source's spec.path (default: the source's artifact)")
	cmd.Flags().StringVar(&opts.KustomizationFile, "kustomization-file", "", "YAML file with the Kustomization to use instead of the cluster's")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "do not contact the cluster (needs --kustomization-file; skips substituteFrom and decryption)")
}

// Validate checks the flags.
func (o *Options) Validate() error {
	if o.Path != "" {
		if st, err := os.Stat(o.Path); err != nil || !st.IsDir() {
			return cmdutil.UsageErrorf("--path %s is not a directory", o.Path)
		}
	}
	if o.DryRun && o.Path == "" {
		return cmdutil.UsageErrorf("--dry-run needs --path: without the cluster the source's artifact cannot be read")
	}
	if o.DryRun && o.KustomizationFile == "" {
		return cmdutil.UsageErrorf("--dry-run needs --kustomization-file: without the cluster the spec must come from a file")
	}
	return nil
}

// Run prints the rendered objects.
func (o *Options) Run(ctx context.Context) error {
	objs, _, _, err := o.Render(ctx)
	if err != nil {
		return err
	}
	out, err := YAML(objs)
	if err != nil {
		return err
	}
	_, err = o.IO.Out.Write(out)
	return err
}

// Render builds Path with the Kustomization, returning the objects (labelled
// as the reconciler labels them) and the Kustomization as found in the
// cluster (nil with DryRun or when it does not exist there yet).
// The origins map each object to its file, for error messages.
func (o *Options) Render(ctx context.Context) (objs []*unstructured.Unstructured, live *kustomizev1.Kustomization, origins map[string]string, err error) {
	var c client.Client
	if !o.DryRun {
		if c, err = o.Factory.Client(); err != nil {
			return nil, nil, nil, err
		}
	}
	if c != nil {
		live = &kustomizev1.Kustomization{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Name}, live); err != nil {
			if !apierrors.IsNotFound(err) || o.KustomizationFile == "" {
				if apierrors.IsNotFound(err) {
					return nil, nil, nil, fmt.Errorf("kustomization %s/%s not found: create it, or pass --kustomization-file", o.Namespace, o.Name)
				}
				return nil, nil, nil, fmt.Errorf("reading kustomization %s/%s: %w", o.Namespace, o.Name, err)
			}
			live = nil
		}
	}
	ks, err := Kustomization(live, o.KustomizationFile, o.Name, o.Namespace)
	if err != nil {
		return nil, nil, nil, err
	}

	var opts kustomize.Options
	if c != nil {
		if opts, err = kustomize.OptionsFor(ctx, c, ks); err != nil {
			return nil, nil, nil, err
		}
	} else {
		opts = kustomize.OptionsFromSpec(&ks.Spec)
		if pb := ks.Spec.PostBuild; pb != nil {
			opts.Vars = kustomize.VarsFrom(nil, pb.Substitute)
		}
	}
	dir, what := o.Path, o.Path
	if o.Path == "" {
		src, srcName, err := o.source(ctx, c, ks)
		if err != nil {
			return nil, nil, nil, err
		}
		if dir, err = o.extract(ctx, src, srcName); err != nil {
			return nil, nil, nil, err
		}
		defer os.RemoveAll(dir)
		what = fmt.Sprintf("%s of revision %s", ks.Spec.Path, src.GetArtifact().Revision)
	} else {
		opts.Path = "" // Path is the local equivalent of spec.path.
	}
	fsys, err := kustomize.LoadDir(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	objs, origins, err = kustomize.BuildWithOrigins(fsys, opts)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("building %s: %w", what, err)
	}
	kustomize.SetLabels(objs, ks.OwnerLabels())
	return objs, live, origins, nil
}

// Kustomization returns the Kustomization a build uses: from file when set,
// else the cluster's.
func Kustomization(live *kustomizev1.Kustomization, file, name, namespace string) (*kustomizev1.Kustomization, error) {
	if file != "" {
		return readKustomization(file, name, namespace)
	}
	return live, nil
}

// readKustomization finds the Kustomization named name in a YAML file (or
// the only one there).
func readKustomization(file, name, namespace string) (*kustomizev1.Kustomization, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var found []*kustomizev1.Kustomization
	for doc := range bytes.SplitSeq(data, []byte("\n---")) {
		var ks kustomizev1.Kustomization
		if err := yaml.Unmarshal(doc, &ks); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if ks.Kind == kustomizev1.KustomizationKind {
			found = append(found, &ks)
		}
	}
	i := slices.IndexFunc(found, func(k *kustomizev1.Kustomization) bool { return k.Name == name })
	switch {
	case i >= 0:
	case len(found) == 1:
		i = 0
	default:
		return nil, fmt.Errorf("%s: no Kustomization named %q", file, name)
	}
	ks := found[i]
	ks.Name = name
	if ks.Namespace == "" {
		ks.Namespace = namespace
	}
	return ks, nil
}

// YAML prints objects as a multi-document YAML stream, Secret values masked.
func YAML(objs []*unstructured.Unstructured) ([]byte, error) {
	var buf bytes.Buffer
	for i, u := range objs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		data, err := yaml.Marshal(MaskSecret(u, nil).Object)
		if err != nil {
			return nil, err
		}
		buf.Write(data)
	}
	return buf.Bytes(), nil
}

// MaskSecret returns u with every value of a Secret's data and stringData
// replaced by Masked; with other (the same Secret before or after), values
// that differ from other's are marked so that a diff still shows a change.
// Other objects are returned as they are.
func MaskSecret(u, other *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil || u.GetKind() != "Secret" || u.GroupVersionKind().Group != "" {
		return u
	}
	out := u.DeepCopy()
	for _, field := range []string{"data", "stringData"} {
		m, ok, _ := unstructured.NestedMap(out.Object, field)
		if !ok {
			continue
		}
		var theirs map[string]any
		if other != nil {
			theirs, _, _ = unstructured.NestedMap(other.Object, field)
		}
		for k, v := range m {
			m[k] = Masked
			if other != nil && theirs[k] != v {
				m[k] = Masked + " (changed)"
			}
		}
		_ = unstructured.SetNestedMap(out.Object, m, field)
	}
	return out
}
