// Package bootstrap implements `tether bootstrap git` and `tether bootstrap
// github`: install Tether so that it manages itself from a Git repository.
package bootstrap

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-gitops/tether/pkg/bootstrap"
	"github.com/tether-gitops/tether/pkg/cmd/install"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/manifestgen"
	"github.com/tether-gitops/tether/pkg/version"
)

// NewCmdBootstrap returns `tether bootstrap` with its subcommands.
func NewCmdBootstrap(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bootstrap",
		Short: "Install Tether so that it manages itself from a Git repository",
		Long: `Bootstrap writes Tether's install manifests and a GitRepository and Kustomization
that sync them to <path>/tether-system/ in a Git repository, pushes them, installs
Tether in the cluster and waits until the cluster runs the pushed commit. From
then on, changing the manifests in Git changes the installation.

Running it again with the same flags changes nothing; with a new --version it
commits the upgrade and the cluster applies it from Git.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(NewCmdGit(f, nil), NewCmdGitHub(f, nil))
	return cmd
}

// CommonOptions are the flags that every bootstrap subcommand shares.
type CommonOptions struct {
	Factory *cmdutil.Factory
	IO      *iostreams.IOStreams

	Branch          string
	Path            string
	Version         string
	Registry        string
	Image           string
	Namespace       string
	ComponentsExtra []string
	Interval        time.Duration
	SecretName      string
	CAFile          string
	AuthorName      string
	AuthorEmail     string
	GPGKeyRing      string
	GPGPassphrase   string
	GPGKeyID        string
	TokenAuth       bool
	Silent          bool
	Timeout         time.Duration
}

func (o *CommonOptions) addFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&o.Branch, "branch", "main", "Git branch to write to and sync from (created if missing)")
	fl.StringVar(&o.Path, "path", ".", "directory of this cluster's configuration in the repository, e.g. clusters/prod")
	fl.StringVar(&o.Version, "version", version.Get(), "Tether version to install (the reconciler image tag)")
	fl.StringVar(&o.Registry, "registry", manifestgen.DefaultRegistry, "container registry that serves the reconciler image")
	fl.StringVar(&o.Image, "image", "", "full reconciler image reference; overrides --registry and --version for the image")
	fl.StringSliceVar(&o.ComponentsExtra, "components-extra", nil, "YAML files of extra objects to install and manage with the components (written next to components.yaml)")
	fl.DurationVar(&o.Interval, "interval", time.Minute, "how often the cluster checks the repository and re-applies it")
	fl.StringVar(&o.SecretName, "secret-name", bootstrap.DefaultSecretName, "name of the Secret with the repository credentials")
	fl.StringVar(&o.CAFile, "ca-file", "", "PEM file of a CA that signs the Git server's HTTPS certificate")
	fl.StringVar(&o.AuthorName, "author-name", "", "commit author name (default: git config user.name, else Tether)")
	fl.StringVar(&o.AuthorEmail, "author-email", "", "commit author email (default: git config user.email)")
	fl.StringVar(&o.GPGKeyRing, "gpg-key-ring", "", "OpenPGP key ring (gpg --export-secret-keys) to sign the bootstrap commit with")
	fl.StringVar(&o.GPGPassphrase, "gpg-passphrase", "", "passphrase of the signing key (prefer TETHER_GPG_PASSPHRASE)")
	fl.StringVar(&o.GPGKeyID, "gpg-key-id", "", "ID of the signing key in --gpg-key-ring (default: its first private key)")
	fl.BoolVar(&o.Silent, "silent", false, "do not ask for confirmation (assume the deploy key has been added)")
	fl.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "how long to wait for the installation and the first sync")
}

// complete reads the namespace flag and validates what can be checked
// before anything is contacted.
func (o *CommonOptions) complete(cmd *cobra.Command) error {
	o.Namespace = manifestgen.DefaultNamespace
	if fl := cmd.Flags().Lookup("namespace"); fl != nil && fl.Changed {
		o.Namespace = o.Factory.Namespace()
	}
	if _, err := bootstrap.CleanPath(o.Path); err != nil {
		return cmdutil.UsageErrorf("%v", err)
	}
	if o.GPGKeyRing == "" && (o.GPGKeyID != "" || o.GPGPassphrase != "") {
		return cmdutil.UsageErrorf("--gpg-key-id and --gpg-passphrase need --gpg-key-ring")
	}
	if o.Interval < time.Second {
		return cmdutil.UsageErrorf("--interval must be at least 1s")
	}
	return o.manifestOptions().Validate()
}

func (o *CommonOptions) manifestOptions() manifestgen.Options {
	reg := o.Registry
	if reg == manifestgen.DefaultRegistry {
		reg = ""
	}
	return manifestgen.Options{Version: o.Version, Registry: reg, Image: o.Image, Namespace: o.Namespace}
}

// baseOptions fills the bootstrap options that come from the common flags.
func (o *CommonOptions) baseOptions() (bootstrap.Options, error) {
	bo := bootstrap.Options{
		Branch: o.Branch, Path: o.Path, Components: o.manifestOptions(), Interval: o.Interval,
		SecretName: o.SecretName, Timeout: o.Timeout,
		Author: bootstrap.Author{Name: o.AuthorName, Email: o.AuthorEmail},
		Install: func(ctx context.Context, objs []*unstructured.Unstructured) error {
			return install.Apply(ctx, o.Factory, o.IO, objs, true, o.Timeout)
		},
	}
	if o.GPGKeyRing != "" {
		ring, err := os.ReadFile(o.GPGKeyRing)
		if err != nil {
			return bo, fmt.Errorf("--gpg-key-ring: %w", err)
		}
		if bo.SignKey, err = bootstrap.LoadSigningKey(ring, o.GPGPassphrase, o.GPGKeyID); err != nil {
			return bo, err
		}
	}
	for _, p := range o.ComponentsExtra {
		data, err := os.ReadFile(p)
		if err != nil {
			return bo, fmt.Errorf("--components-extra: %w", err)
		}
		bo.Extra = append(bo.Extra, bootstrap.ExtraFile{Name: filepath.Base(p), Data: data})
	}
	return bo, nil
}

func (o *CommonOptions) caBundle() ([]byte, error) {
	if o.CAFile == "" {
		return nil, nil
	}
	data, err := os.ReadFile(o.CAFile)
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	return data, nil
}

func (o *CommonOptions) runner() (*bootstrap.Runner, error) {
	c, err := o.Factory.Client()
	if err != nil {
		return nil, err
	}
	return &bootstrap.Runner{Client: c, IO: o.IO}, nil
}
