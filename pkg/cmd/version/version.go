// Package version implements `tether version`.
package version

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/manifestgen"
	"github.com/tether-gitops/tether/pkg/version"
)

// Options are the flags and clients of `tether version`.
type Options struct {
	Factory *cmdutil.Factory
	IO      *iostreams.IOStreams

	ClientOnly bool
	Output     string
	Namespace  string
}

// Versions is what `tether version -o json` prints.
type Versions struct {
	Client     version.Info `json:"client"`
	Kubernetes string       `json:"kubernetes,omitempty"`
	Reconciler string       `json:"reconciler,omitempty"`
}

// NewCmdVersion returns `tether version`.
func NewCmdVersion(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f, IO: f.IOStreams, Namespace: manifestgen.DefaultNamespace}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the versions of the CLI, the cluster and the in-cluster reconciler",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("namespace") {
				opts.Namespace = f.Namespace()
			}
			switch opts.Output {
			case "", "json", "yaml":
			default:
				return fmt.Errorf("invalid --output %q: use json or yaml", opts.Output)
			}
			if runF != nil {
				return runF(opts)
			}
			return opts.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&opts.ClientOnly, "client", false, "print only the CLI's version, without contacting the cluster")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "output format: json or yaml")
	return cmd
}

// Run prints the versions. Without a reachable cluster it still prints the
// client's version and then reports the error.
func (o *Options) Run(ctx context.Context) error {
	v := Versions{Client: version.GetInfo()}
	var serverErr error
	if !o.ClientOnly {
		serverErr = o.server(ctx, &v)
	}
	switch o.Output {
	case "json":
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(o.IO.Out, string(data))
	case "yaml":
		data, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		fmt.Fprint(o.IO.Out, string(data))
	default:
		fmt.Fprintf(o.IO.Out, "tether: %s\n", v.Client.Version)
		if v.Kubernetes != "" {
			fmt.Fprintf(o.IO.Out, "kubernetes: %s\n", v.Kubernetes)
		}
		if v.Reconciler != "" {
			fmt.Fprintf(o.IO.Out, "tether-reconciler: %s\n", v.Reconciler)
		}
	}
	return serverErr
}

func (o *Options) server(ctx context.Context, v *Versions) error {
	info, err := o.Factory.ServerVersion(ctx)
	if err != nil {
		return err
	}
	v.Kubernetes = info.GitVersion
	c, err := o.Factory.Client()
	if err != nil {
		return err
	}
	var d appsv1.Deployment
	err = c.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: manifestgen.DeploymentName}, &d)
	switch {
	case apierrors.IsNotFound(err):
		v.Reconciler = "not installed"
	case err != nil:
		return fmt.Errorf("reading the reconciler deployment: %w", err)
	default:
		v.Reconciler = reconcilerVersion(&d)
	}
	return nil
}

// reconcilerVersion is the tag of the reconciler container's image, which
// is what runs (`install --image` may name another tag than the version
// label); else the version label install set.
func reconcilerVersion(d *appsv1.Deployment) string {
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == manifestgen.ContainerName {
			if tag := imageTag(c.Image); tag != "" {
				return tag
			}
		}
	}
	if v := d.Labels[manifestgen.VersionLabel]; v != "" {
		return v
	}
	return "unknown"
}

// imageTag returns the tag of an image reference, "" when it has none
// (repository only, or a digest only).
func imageTag(image string) string {
	image, _, _ = strings.Cut(image, "@")
	name := image[strings.LastIndex(image, "/")+1:]
	_, tag, _ := strings.Cut(name, ":")
	return tag
}
