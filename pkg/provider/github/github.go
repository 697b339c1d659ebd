// Package github is the small part of GitHub's REST API that bootstrap
// needs — repositories, team access and deploy keys — behind an interface,
// implemented with go-github. The token is sent in a header only: it never
// appears in URLs, messages or errors.
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v89/github"
)

// Provider is what bootstrap asks of GitHub.
type Provider interface {
	// User returns the login of the token's owner.
	User(ctx context.Context) (string, error)
	// GetRepo returns a repository, or an error that Is ErrNotFound.
	GetRepo(ctx context.Context, owner, name string) (*Repository, error)
	// CreateRepo creates an empty repository in org, or for the token's
	// owner when personal is true.
	CreateRepo(ctx context.Context, owner, name string, personal, private bool) (*Repository, error)
	// SetDefaultBranch makes branch (which must exist) the repository's
	// default branch.
	SetDefaultBranch(ctx context.Context, owner, name, branch string) error
	// HasFile reports whether path exists on branch.
	HasFile(ctx context.Context, owner, name, branch, path string) (bool, error)
	// AddTeam grants team (its slug) permission on owner/name in org.
	AddTeam(ctx context.Context, org, owner, name, team, permission string) error
	// DeployKeys lists the repository's deploy keys.
	DeployKeys(ctx context.Context, owner, name string) ([]DeployKey, error)
	// AddDeployKey registers a deploy key.
	AddDeployKey(ctx context.Context, owner, name string, key DeployKey) error
}

// Repository is what bootstrap needs to know of a repository.
type Repository struct {
	Owner, Name   string
	CloneURL      string // https://host/owner/name.git
	SSHURL        string // git@host:owner/name.git
	DefaultBranch string
	Private       bool
}

// DeployKey is a repository's SSH deploy key.
type DeployKey struct {
	Title    string
	Key      string // authorized_keys form, "ssh-ed25519 AAAA..."
	ReadOnly bool
}

// Errors the callers can test with errors.Is.
var (
	ErrNotFound     = errors.New("not found")
	ErrUnauthorized = errors.New("GitHub rejected the token (401 Bad credentials): check GITHUB_TOKEN")
	ErrForbidden    = errors.New("forbidden")
	ErrExists       = errors.New("already exists")
)

// Client implements Provider with go-github.
type Client struct {
	gh *gh.Client
}

// New returns a client for github.com, or for the GitHub Enterprise server
// at hostname (a host name, or a URL such as https://ghe.example.com).
func New(token, hostname string) (*Client, error) {
	if token == "" {
		return nil, errors.New("no GitHub token: set GITHUB_TOKEN to a token with the repo scope (and admin:org for --team)")
	}
	opts := []gh.ClientOptionsFunc{gh.WithAuthToken(token), gh.WithTimeout(60 * time.Second)}
	if hostname != "" && hostname != "github.com" {
		base := hostname
		if !strings.Contains(base, "://") {
			base = "https://" + base
		}
		u, err := url.Parse(base)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("invalid --hostname %q: want a host name such as ghe.example.com", hostname)
		}
		base = strings.TrimSuffix(base, "/") + "/"
		opts = append(opts, gh.WithEnterpriseURLs(base, base))
	}
	c, err := gh.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	return &Client{gh: c}, nil
}

// User implements Provider.
func (c *Client) User(ctx context.Context) (string, error) {
	u, _, err := c.gh.Users.Get(ctx, "")
	if err != nil {
		return "", explain(err, "reading the token's user")
	}
	return u.GetLogin(), nil
}

// GetRepo implements Provider.
func (c *Client) GetRepo(ctx context.Context, owner, name string) (*Repository, error) {
	r, _, err := c.gh.Repositories.Get(ctx, owner, name)
	if err != nil {
		return nil, explain(err, fmt.Sprintf("reading repository %s/%s", owner, name))
	}
	return toRepository(r), nil
}

// CreateRepo implements Provider.
func (c *Client) CreateRepo(ctx context.Context, owner, name string, personal, private bool) (*Repository, error) {
	org := owner
	if personal {
		org = ""
	}
	r, _, err := c.gh.Repositories.Create(ctx, org, &gh.Repository{
		Name: gh.Ptr(name), Private: gh.Ptr(private), AutoInit: gh.Ptr(false),
		Description: gh.Ptr("Cluster configuration managed by Tether"),
	})
	if err != nil {
		return nil, explain(err, fmt.Sprintf("creating repository %s/%s", owner, name))
	}
	return toRepository(r), nil
}

// SetDefaultBranch implements Provider.
func (c *Client) SetDefaultBranch(ctx context.Context, owner, name, branch string) error {
	_, _, err := c.gh.Repositories.Edit(ctx, owner, name, &gh.Repository{DefaultBranch: gh.Ptr(branch)})
	if err != nil {
		return explain(err, fmt.Sprintf("making %s the default branch of %s/%s", branch, owner, name))
	}
	return nil
}

// HasFile implements Provider.
func (c *Client) HasFile(ctx context.Context, owner, name, branch, path string) (bool, error) {
	_, _, _, err := c.gh.Repositories.GetContents(ctx, owner, name, path, &gh.RepositoryContentGetOptions{Ref: branch})
	if err != nil {
		err = explain(err, fmt.Sprintf("reading %s in %s/%s", path, owner, name))
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// AddTeam implements Provider.
func (c *Client) AddTeam(ctx context.Context, org, owner, name, team, permission string) error {
	_, err := c.gh.Teams.AddTeamRepoBySlug(ctx, org, team, owner, name, &gh.TeamAddTeamRepoOptions{Permission: permission})
	if err != nil {
		err = explain(err, fmt.Sprintf("granting team %s %s access to %s/%s", team, permission, owner, name))
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden) {
			return fmt.Errorf("%w: the team %s does not exist in %s, or the token lacks the admin:org scope", err, team, org)
		}
		return err
	}
	return nil
}

// DeployKeys implements Provider.
func (c *Client) DeployKeys(ctx context.Context, owner, name string) ([]DeployKey, error) {
	var out []DeployKey
	opts := &gh.ListOptions{PerPage: 100}
	for {
		keys, resp, err := c.gh.Repositories.ListKeys(ctx, owner, name, opts)
		if err != nil {
			return nil, explain(err, fmt.Sprintf("listing the deploy keys of %s/%s", owner, name))
		}
		for _, k := range keys {
			out = append(out, DeployKey{Title: k.GetTitle(), Key: k.GetKey(), ReadOnly: k.GetReadOnly()})
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// AddDeployKey implements Provider.
func (c *Client) AddDeployKey(ctx context.Context, owner, name string, key DeployKey) error {
	_, _, err := c.gh.Repositories.CreateKey(ctx, owner, name, &gh.Key{
		Title: gh.Ptr(key.Title), Key: gh.Ptr(key.Key), ReadOnly: gh.Ptr(key.ReadOnly),
	})
	if err != nil {
		return explain(err, fmt.Sprintf("adding a deploy key to %s/%s", owner, name))
	}
	return nil
}

func toRepository(r *gh.Repository) *Repository {
	return &Repository{
		Owner: r.GetOwner().GetLogin(), Name: r.GetName(),
		CloneURL: r.GetCloneURL(), SSHURL: r.GetSSHURL(), DefaultBranch: r.GetDefaultBranch(),
		Private: r.GetPrivate(),
	}
}

// explain turns a GitHub error response into an error that says what to
// do: 401 a bad token, 403 a missing scope, 404 (which GitHub also answers
// when the token may not see the resource) not found or no access.
func explain(err error, what string) error {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	msg := er.Message
	for _, e := range er.Errors {
		if e.Message != "" {
			msg += ": " + e.Message
		}
	}
	switch er.Response.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("%s: %w", what, ErrUnauthorized)
	case http.StatusForbidden:
		return fmt.Errorf("%s: %w (403 %s): the token lacks the repo scope (or admin:org for organisations and teams)", what, ErrForbidden, msg)
	case http.StatusNotFound:
		return fmt.Errorf("%s: %w: it does not exist or the token lacks the repo scope (or admin:org) to see it", what, ErrNotFound)
	case http.StatusUnprocessableEntity:
		if strings.Contains(strings.ToLower(msg), "already") {
			return fmt.Errorf("%s: %w (%s)", what, ErrExists, msg)
		}
	}
	return fmt.Errorf("%s: GitHub answered %d: %s", what, er.Response.StatusCode, msg)
}
