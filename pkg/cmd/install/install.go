// Package install implements `tether install`.
package install

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/manifestgen"
	"github.com/tether-gitops/tether/pkg/ssa"
	"github.com/tether-gitops/tether/pkg/version"
)

// FieldManager is the server-side apply field manager of objects that the CLI applies.
const FieldManager = "tether"

// Options are the flags and clients of `tether install`.
type Options struct {
	Factory *cmdutil.Factory
	IO      *iostreams.IOStreams

	Version   string
	Registry  string
	Image     string
	Namespace string
	Export    bool
	Wait      bool
	Timeout   time.Duration
}

// NewCmdInstall returns `tether install`; runF replaces run in tests of flag parsing.
func NewCmdInstall(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f, IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install or upgrade Tether's CRDs and reconciler in the cluster",
		Long: `Install applies Tether's CRDs, RBAC and reconciler Deployment to the cluster with
server-side apply, then waits until the CRDs are established and the reconciler is
available. Running it again changes nothing unless the version or flags changed.

With --export it prints the manifests instead, to commit them to a Git repository.`,
		Example: `  # Install the version of this CLI
  tether install

  # Write the manifests for a GitOps repository
  tether install --export > clusters/prod/tether-system/components.yaml

  # Pull the reconciler image from a mirror
  tether install --registry registry.example.com/tether`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("namespace") {
				opts.Namespace = f.Namespace()
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return opts.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&opts.Version, "version", version.Get(), "Tether version to install (the reconciler image tag)")
	cmd.Flags().StringVar(&opts.Registry, "registry", manifestgen.DefaultRegistry, "container registry that serves the reconciler image")
	cmd.Flags().StringVar(&opts.Image, "image", "", "full reconciler image reference; overrides --registry and --version for the image")
	cmd.Flags().BoolVar(&opts.Export, "export", false, "print the manifests as YAML instead of applying them")
	cmd.Flags().BoolVar(&opts.Wait, "wait", true, "wait for the CRDs and the reconciler to be ready")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 5*time.Minute, "how long to wait for the installation to become ready")
	return cmd
}

// Validate checks the flags before anything is rendered or applied.
func (o *Options) Validate() error {
	return o.manifestOptions().Validate()
}

func (o *Options) manifestOptions() manifestgen.Options {
	reg := o.Registry
	if reg == manifestgen.DefaultRegistry {
		reg = ""
	}
	return manifestgen.Options{Version: o.Version, Registry: reg, Image: o.Image, Namespace: o.Namespace}
}

// Run renders the manifests and exports or applies them.
func (o *Options) Run(ctx context.Context) error {
	objs, err := manifestgen.Generate(o.manifestOptions())
	if err != nil {
		return err
	}
	if o.Export {
		data, err := manifestgen.Encode(objs)
		if err != nil {
			return err
		}
		_, err = o.IO.Out.Write(data)
		return err
	}
	return Apply(ctx, o.Factory, o.IO, objs, o.Wait, o.Timeout)
}

// Apply installs rendered objects: it checks that the cluster answers before
// changing anything, applies in stages, and waits for the reconciler. It is
// shared with bootstrap, which installs the same objects.
func Apply(ctx context.Context, f *cmdutil.Factory, io *iostreams.IOStreams, objs []*unstructured.Unstructured, wait bool, timeout time.Duration) error {
	io.Step("checking the cluster")
	info, err := f.ServerVersion(ctx)
	if err != nil {
		return err
	}
	io.Success("Kubernetes %s", info.GitVersion)

	c, err := f.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	io.Step("applying %d objects", len(objs))
	changes, err := ssa.New(c, FieldManager).ApplyAllStaged(ctx, objs, ssa.ApplyOptions{WaitTimeout: timeout})
	for _, ch := range changes {
		if ch.Action != ssa.Unchanged {
			io.Success("%s", ch)
		}
	}
	if err != nil {
		return fmt.Errorf("install failed: %w", err)
	}
	if n := countUnchanged(changes); n > 0 {
		io.Success("%d objects unchanged", n)
	}
	// The staged apply waited for them before applying what uses them.
	if n := countKind(objs, "CustomResourceDefinition"); n > 0 {
		io.Success("%d CRDs established", n)
	}
	if !wait {
		return nil
	}
	io.Step("waiting for the reconciler to become available")
	deploys := ofKind(objs, "Deployment")
	if err := ssa.New(c, FieldManager).WaitForReady(ctx, deploys, timeout); err != nil {
		return fmt.Errorf("%w: see `kubectl -n %s describe deployment %s`", err, deploys[0].GetNamespace(), manifestgen.DeploymentName)
	}
	io.Success("reconciler available")
	io.Success("install finished")
	return nil
}

func ofKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out
}

func countKind(objs []*unstructured.Unstructured, kind string) int { return len(ofKind(objs, kind)) }

func countUnchanged(changes []ssa.Change) int {
	n := 0
	for _, ch := range changes {
		if ch.Action == ssa.Unchanged {
			n++
		}
	}
	return n
}
