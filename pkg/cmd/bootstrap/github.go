package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tether-gitops/tether/pkg/bootstrap"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/provider/github"
)

// TokenEnv is the environment variable that holds the GitHub token.
const TokenEnv = "GITHUB_TOKEN"

// GitHubOptions are the flags of `tether bootstrap github`.
type GitHubOptions struct {
	CommonOptions

	Owner        string
	Repository   string
	Personal     bool
	Private      bool
	Teams        []string
	Hostname     string
	ReadWriteKey bool
	Force        bool

	// Getenv reads GITHUB_TOKEN (os.Getenv; tests replace it).
	Getenv func(string) string
	// NewProvider builds the GitHub client (github.New; tests replace it).
	NewProvider func(token, hostname string) (github.Provider, error)
	// RemoteEmpty tells whether a repository has no refs
	// (bootstrap.RemoteEmpty; tests replace it).
	RemoteEmpty func(ctx context.Context, url string, creds bootstrap.Credentials) (bool, error)

	teams []teamGrant
}

type teamGrant struct{ name, permission string }

var teamPermissions = map[string]bool{"pull": true, "triage": true, "push": true, "maintain": true, "admin": true}

// NewCmdGitHub returns `tether bootstrap github`; runF replaces run in tests
// of flag parsing.
func NewCmdGitHub(f *cmdutil.Factory, runF func(*GitHubOptions) error) *cobra.Command {
	opts := &GitHubOptions{
		CommonOptions: CommonOptions{Factory: f, IO: f.IOStreams},
		Getenv:        os.Getenv,
		NewProvider: func(token, hostname string) (github.Provider, error) {
			return github.New(token, hostname)
		},
		RemoteEmpty: bootstrap.RemoteEmpty,
	}
	cmd := &cobra.Command{
		Use:   "github",
		Short: "Bootstrap from a GitHub repository, creating it if needed",
		Long: `Bootstrap github creates the repository if it does not exist (for an organisation,
or for the token's user with --personal), grants --team access, registers an SSH
deploy key (read-only unless --read-write-key) that the cluster pulls with, then
runs the bootstrap git flow: the CLI pushes over HTTPS with the token.

With --token-auth the cluster pulls over HTTPS with the token (stored in the
Secret) and no deploy key is registered.

The token comes from GITHUB_TOKEN only; it needs the repo scope, and admin:org
for an organisation's repositories and teams. An existing repository that is
not empty and holds no <path>/tether-system is refused unless --force.`,
		Example: `  # A private repository in an organisation, maintained by a team
  export GITHUB_TOKEN=...
  tether bootstrap github --owner my-org --repository fleet --path clusters/prod \
    --team platform:maintain

  # A personal repository on GitHub Enterprise, pulled with the token
  tether bootstrap github --owner me --personal --repository fleet \
    --hostname ghe.example.com --token-auth`,
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
	fl.StringVar(&opts.Owner, "owner", "", "organisation or user that owns the repository")
	fl.StringVar(&opts.Repository, "repository", "", "repository name")
	fl.BoolVar(&opts.Personal, "personal", false, "the owner is the token's user, not an organisation")
	fl.BoolVar(&opts.Private, "private", true, "create the repository private")
	fl.StringArrayVar(&opts.Teams, "team", nil, "grant a team access, as NAME:PERMISSION (pull, triage, push, maintain, admin); repeatable")
	fl.StringVar(&opts.Hostname, "hostname", "github.com", "GitHub Enterprise host name")
	fl.BoolVar(&opts.TokenAuth, "token-auth", false, "the cluster pulls over HTTPS with the token instead of an SSH deploy key")
	fl.BoolVar(&opts.ReadWriteKey, "read-write-key", false, "register the deploy key with write access")
	fl.BoolVar(&opts.Force, "force", false, "write to an existing, non-empty repository that holds no <path>/tether-system")
	_ = cmd.MarkFlagRequired("owner")
	_ = cmd.MarkFlagRequired("repository")
	return cmd
}

func (o *GitHubOptions) complete(cmd *cobra.Command) error {
	if err := o.CommonOptions.complete(cmd); err != nil {
		return err
	}
	if strings.ContainsAny(o.Owner, "/ ") || strings.ContainsAny(o.Repository, "/ ") {
		return cmdutil.UsageErrorf("--owner and --repository are names, e.g. --owner my-org --repository fleet")
	}
	if o.Personal && len(o.Teams) > 0 {
		return cmdutil.UsageErrorf("--team needs an organisation: a --personal repository has no teams")
	}
	o.teams = nil
	for _, t := range o.Teams {
		name, perm, ok := strings.Cut(t, ":")
		if !ok {
			perm = "maintain"
		}
		if name == "" || !teamPermissions[perm] {
			return cmdutil.UsageErrorf("invalid --team %q: want NAME:PERMISSION with PERMISSION one of pull, triage, push, maintain, admin", t)
		}
		o.teams = append(o.teams, teamGrant{name, perm})
	}
	return nil
}

// Run prepares the repository on GitHub, then runs the bootstrap git flow.
func (o *GitHubOptions) Run(ctx context.Context) error {
	token := o.Getenv(TokenEnv)
	if token == "" {
		return fmt.Errorf("%s is not set: create a token with the repo scope (and admin:org for organisations) and export it", TokenEnv)
	}
	p, err := o.NewProvider(token, o.Hostname)
	if err != nil {
		return err
	}
	login, err := p.User(ctx)
	if err != nil {
		return err
	}
	o.IO.Success("authenticated to GitHub as %s", login)
	if o.Personal && !strings.EqualFold(login, o.Owner) {
		return fmt.Errorf("--personal: the token belongs to %s, not %s", login, o.Owner)
	}
	full := o.Owner + "/" + o.Repository
	ca, err := o.caBundle()
	if err != nil {
		return err
	}
	pushCreds := bootstrap.Credentials{Username: "git", Password: token, CAFile: ca}

	// empty: the repository has no commits yet, so its default branch is
	// ours to choose.
	empty := false
	repo, err := p.GetRepo(ctx, o.Owner, o.Repository)
	switch {
	case errors.Is(err, github.ErrNotFound):
		visibility := "public"
		if o.Private {
			visibility = "private"
		}
		o.IO.Step("creating %s repository %s", visibility, full)
		if repo, err = p.CreateRepo(ctx, o.Owner, o.Repository, o.Personal, o.Private); err != nil {
			return err
		}
		o.IO.Success("created %s", full)
		empty = true
	case err != nil:
		return err
	default:
		o.IO.Success("repository %s exists", full)
		// GitHub computes a repository's size some time after a push, so
		// ask the Git server whether it has any ref.
		if empty, err = o.RemoteEmpty(ctx, repo.CloneURL, pushCreds); err != nil {
			return err
		}
		if !empty && !o.Force {
			dir, _ := bootstrap.CleanPath(o.Path)
			marker := path.Join(bootstrap.SystemPath(dir), bootstrap.KustomizationFile)
			ours, err := p.HasFile(ctx, o.Owner, o.Repository, o.Branch, marker)
			if err != nil {
				return err
			}
			if !ours {
				return fmt.Errorf("repository %s is not empty and has no %s on branch %s: it does not look bootstrapped by Tether; refusing to write to it (pass --force to bootstrap it anyway)",
					full, marker, o.Branch)
			}
		}
	}

	for _, t := range o.teams {
		if err := p.AddTeam(ctx, o.Owner, o.Owner, o.Repository, t.name, t.permission); err != nil {
			return err
		}
		o.IO.Success("team %s has %s access", t.name, t.permission)
	}

	bo, err := o.baseOptions()
	if err != nil {
		return err
	}
	bo.URL = repo.CloneURL
	bo.Credentials = pushCreds
	if o.TokenAuth {
		bo.SyncURL = repo.CloneURL
		creds := bo.Credentials
		bo.SyncCredentials = &creds
	} else {
		bo.SyncURL = bootstrap.NormalizeURL(repo.SSHURL)
		bo.SyncCredentials = &bootstrap.Credentials{}
		bo.OnDeployKey = func(ctx context.Context, pub string) error {
			return o.ensureDeployKey(ctx, p, pub)
		}
	}
	r, err := o.runner()
	if err != nil {
		return err
	}
	if _, err := r.Run(ctx, bo); err != nil {
		return err
	}
	if empty {
		return o.ensureDefaultBranch(ctx, p)
	}
	return nil
}

// ensureDefaultBranch makes --branch the default branch of a repository
// whose first commit bootstrap pushed: GitHub keeps the default it chose at
// creation (the account's setting), which need not be --branch. A
// repository that had commits keeps its owner's choice.
func (o *GitHubOptions) ensureDefaultBranch(ctx context.Context, p github.Provider) error {
	repo, err := p.GetRepo(ctx, o.Owner, o.Repository)
	if err != nil {
		return err
	}
	if repo.DefaultBranch == o.Branch {
		return nil
	}
	if err := p.SetDefaultBranch(ctx, o.Owner, o.Repository, o.Branch); err != nil {
		return err
	}
	o.IO.Success("%s is the default branch of %s/%s", o.Branch, o.Owner, o.Repository)
	return nil
}

// ensureDeployKey registers pub unless the repository already has it.
func (o *GitHubOptions) ensureDeployKey(ctx context.Context, p github.Provider, pub string) error {
	keys, err := p.DeployKeys(ctx, o.Owner, o.Repository)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if sameKey(k.Key, pub) {
			o.IO.Success("deploy key %q is registered", k.Title)
			return nil
		}
	}
	title := "tether-" + o.Namespace
	if o.Path != "." {
		title += "-" + strings.ReplaceAll(strings.Trim(o.Path, "./"), "/", "-")
	}
	if err := p.AddDeployKey(ctx, o.Owner, o.Repository, github.DeployKey{Title: title, Key: pub, ReadOnly: !o.ReadWriteKey}); err != nil {
		return err
	}
	access := "read-only"
	if o.ReadWriteKey {
		access = "read-write"
	}
	o.IO.Success("registered %s deploy key %q", access, title)
	return nil
}

// sameKey compares the type and base64 fields of two authorized_keys lines.
func sameKey(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	return len(fa) >= 2 && len(fb) >= 2 && fa[0] == fb[0] && fa[1] == fb[1]
}
