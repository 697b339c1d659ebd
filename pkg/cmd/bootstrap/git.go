package bootstrap

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tether-gitops/tether/pkg/bootstrap"
	"github.com/tether-gitops/tether/pkg/cmdutil"
)

// GitOptions are the flags of `tether bootstrap git`.
type GitOptions struct {
	CommonOptions

	URL            string
	Username       string
	Password       string
	PrivateKeyFile string
}

// NewCmdGit returns `tether bootstrap git`; runF replaces run in tests of
// flag parsing.
func NewCmdGit(f *cmdutil.Factory, runF func(*GitOptions) error) *cobra.Command {
	opts := &GitOptions{CommonOptions: CommonOptions{Factory: f, IO: f.IOStreams}}
	cmd := &cobra.Command{
		Use:   "git",
		Short: "Bootstrap from any Git server over HTTPS or SSH",
		Long: `Bootstrap git clones --url, writes the manifests under <path>/tether-system/,
pushes them if they changed, installs Tether and waits for it to sync.

Credentials:
  HTTPS   --username and --password (or TETHER_PASSWORD); with --token-auth the
          password is sent as a bearer token.
  SSH     --url ssh://git@host/org/repo.git with --private-key-file, or without it
          a new Ed25519 deploy key is generated, stored in the Secret and printed:
          give it write access to the repository. The server's host key is
          recorded in known_hosts on first use.`,
		Example: `  # Over HTTPS with a password or token
  TETHER_PASSWORD=... tether bootstrap git --url https://git.example.com/org/fleet.git \
    --username me --branch main --path clusters/prod

  # Over SSH with a generated deploy key
  tether bootstrap git --url ssh://git@git.example.com/org/fleet.git --path clusters/prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.complete(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return opts.Run(cmd.Context())
		},
	}
	opts.addFlags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&opts.URL, "url", "", "repository URL: https://host/path or ssh://user@host[:port]/path")
	fl.StringVarP(&opts.Username, "username", "u", "git", "HTTPS basic auth username")
	fl.StringVarP(&opts.Password, "password", "p", "", "HTTPS basic auth password or token (prefer TETHER_PASSWORD)")
	fl.StringVar(&opts.PrivateKeyFile, "private-key-file", "", "SSH private key (unencrypted); default: generate a deploy key")
	fl.BoolVar(&opts.TokenAuth, "token-auth", false, "send --password as a bearer token instead of basic auth")
	_ = cmd.MarkFlagRequired("url")
	return cmd
}

func (o *GitOptions) complete(cmd *cobra.Command) error {
	if err := o.CommonOptions.complete(cmd); err != nil {
		return err
	}
	o.URL = bootstrap.NormalizeURL(strings.TrimSpace(o.URL))
	switch {
	case bootstrap.IsSSH(o.URL):
		if o.Password != "" || o.TokenAuth {
			return cmdutil.UsageErrorf("--password and --token-auth are for HTTPS URLs; an SSH URL uses --private-key-file")
		}
	case strings.HasPrefix(o.URL, "https://"), strings.HasPrefix(o.URL, "http://"):
		if o.PrivateKeyFile != "" {
			return cmdutil.UsageErrorf("--private-key-file is for ssh:// URLs")
		}
		if o.TokenAuth && o.Password == "" {
			return cmdutil.UsageErrorf("--token-auth needs the token in --password or TETHER_PASSWORD")
		}
	default:
		return cmdutil.UsageErrorf("unsupported --url %q: use https://host/path or ssh://git@host/path", o.URL)
	}
	return nil
}

// credentials are what both the CLI and the cluster use.
func (o *GitOptions) credentials() (bootstrap.Credentials, error) {
	ca, err := o.caBundle()
	if err != nil {
		return bootstrap.Credentials{}, err
	}
	if bootstrap.IsSSH(o.URL) {
		var key []byte
		if o.PrivateKeyFile != "" {
			if key, err = os.ReadFile(o.PrivateKeyFile); err != nil {
				return bootstrap.Credentials{}, fmt.Errorf("--private-key-file: %w", err)
			}
			if _, err := bootstrap.PublicKey(key); err != nil {
				return bootstrap.Credentials{}, fmt.Errorf("--private-key-file %s: %w", o.PrivateKeyFile, err)
			}
		}
		return bootstrap.Credentials{Identity: key}, nil
	}
	c := bootstrap.Credentials{CAFile: ca}
	switch {
	case o.TokenAuth:
		c.BearerToken = o.Password
	case o.Password != "":
		c.Username, c.Password = o.Username, o.Password
	}
	return c, nil
}

// Run bootstraps the cluster from the repository.
func (o *GitOptions) Run(ctx context.Context) error {
	bo, err := o.baseOptions()
	if err != nil {
		return err
	}
	bo.URL = o.URL
	if bo.Credentials, err = o.credentials(); err != nil {
		return err
	}
	if !o.Silent && o.IO.CanPrompt() {
		bo.ConfirmNewKey = o.confirmKey
	} else {
		bo.ConfirmNewKey = func(string) error {
			o.IO.Warn("add the deploy key above to the repository with write access; if the clone fails, add it and run bootstrap again (the key is kept)")
			return nil
		}
	}
	r, err := o.runner()
	if err != nil {
		return err
	}
	_, err = r.Run(ctx, bo)
	return err
}

func (o *GitOptions) confirmKey(string) error {
	fmt.Fprint(o.IO.ErrOut, "Add the deploy key above to the repository with write access, then press Enter (Ctrl-C to stop): ")
	_, err := bufio.NewReader(o.IO.In).ReadString('\n')
	if err != nil {
		return fmt.Errorf("no confirmation: %w", err)
	}
	return nil
}
