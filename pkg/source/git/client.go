// Package git fetches Git repositories for the GitRepository reconciler:
// Resolve asks the remote which commit a Ref points at (one ls-remote round
// trip), Checkout clones that commit into a directory, VerifyCommit checks a
// commit's OpenPGP signature and LoadIgnore builds the artifact exclusion
// rules. It knows nothing of Kubernetes: the caller maps the GitRepository
// spec and its Secret onto Ref and Auth.
//
// Revisions use the Flux format: "<branch>@sha1:<hash>", "<tag>@sha1:<hash>",
// "<refs/...>@sha1:<hash>" or "sha1:<hash>".
package git

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// Ref selects what to fetch, with Flux GitRepository semantics. Precedence:
// Commit (optionally on Branch), then Name, then SemVer, then Tag, then
// Branch; all empty means the remote's default branch (its HEAD).
type Ref struct {
	Branch string // e.g. "main"
	Tag    string // e.g. "v1.2.3"
	SemVer string // a Masterminds/semver constraint, e.g. ">=1.0.0 <2.0.0"
	Name   string // a full reference, e.g. "refs/pull/1/head"
	Commit string // a full 40-hex-digit SHA-1
}

// Auth holds the credentials the caller read from a Secret (keys username,
// password, bearerToken, ca.crt, identity, known_hosts). Which fields apply
// depends on the URL's scheme.
type Auth struct {
	Username    string // HTTP basic auth
	Password    string // HTTP basic auth
	BearerToken string // HTTP "Authorization: Bearer"; exclusive with Username/Password
	CAFile      []byte // PEM CA bundle trusted for HTTPS, on top of the system pool
	SSHIdentity []byte // PEM private key, required for SSH
	SSHPassword string // passphrase of SSHIdentity, if encrypted
	KnownHosts  []byte // known_hosts lines, required for SSH
}

// Client fetches one remote repository. It is safe for concurrent use.
type Client struct {
	url      string // as given (scp-like stays scp-like; go-git parses it)
	safeURL  string // for messages: no userinfo password
	host     string // host:port (SSH)
	isSSH    bool
	httpAuth githttp.AuthMethod
	ssh      *sshAuth
	caBundle []byte
	secrets  []string
	opts     options
}

// Option configures a Client.
type Option func(*options)

type options struct {
	recurseSubmodules bool
}

// WithRecurseSubmodules makes Checkout initialise and update submodules
// recursively, with the same credentials.
func WithRecurseSubmodules() Option {
	return func(o *options) { o.recurseSubmodules = true }
}

// scpLike matches "user@host:path" (the user part optional), the short form
// of an SSH URL.
var scpLike = regexp.MustCompile(`^(?:([^@/:\s]+)@)?([^@/:\s\[\]]+|\[[0-9a-fA-F:.]+\]):([^/\s][^\s]*|/[^/\s][^\s]*)$`)

// New validates url and auth and returns a Client. Accepted URLs:
// https://host/path, http://host/path, ssh://[user@]host[:port]/path and
// [user@]host:path. SSH needs auth.SSHIdentity and auth.KnownHosts.
func New(rawURL string, auth Auth, opts ...Option) (*Client, error) {
	c := &Client{url: rawURL}
	for _, o := range opts {
		o(&c.opts)
	}
	c.secrets = nonEmpty(auth.Password, auth.BearerToken, auth.SSHPassword, string(auth.SSHIdentity))
	if rawURL == "" {
		return nil, fmt.Errorf("%w: the repository URL is empty", ErrInvalidURL)
	}

	sshUser := ""
	switch {
	case strings.Contains(rawURL, "://"):
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, fmt.Errorf("%w: cannot parse %q: use https://host/path, ssh://host/path or git@host:path",
				ErrInvalidURL, redactURLString(rawURL))
		}
		if _, hasPass := u.User.Password(); hasPass {
			return nil, fmt.Errorf("%w: %s contains a password: pass credentials in Auth instead",
				ErrInvalidURL, u.Redacted())
		}
		c.safeURL = u.Redacted()
		if u.Host == "" || u.Hostname() == "" {
			return nil, fmt.Errorf("%w: %s has no host", ErrInvalidURL, c.safeURL)
		}
		if strings.Trim(u.Path, "/") == "" {
			return nil, fmt.Errorf("%w: %s has no repository path", ErrInvalidURL, c.safeURL)
		}
		switch strings.ToLower(u.Scheme) {
		case "http", "https":
		case "ssh":
			c.isSSH = true
			sshUser = u.User.Username()
			c.host = u.Host
			if u.Port() == "" {
				c.host = u.Host + ":22"
			}
		default:
			return nil, fmt.Errorf("%w: unsupported scheme %q in %s: use https://, http://, ssh:// or git@host:path",
				ErrInvalidURL, u.Scheme, c.safeURL)
		}
	default:
		m := scpLike.FindStringSubmatch(rawURL)
		if m == nil {
			return nil, fmt.Errorf("%w: %q is neither an http(s):// or ssh:// URL nor of the form git@host:path",
				ErrInvalidURL, redactURLString(rawURL))
		}
		c.safeURL = rawURL
		c.isSSH = true
		sshUser = m[1]
		c.host = m[2] + ":22"
	}

	if c.isSSH {
		if sshUser == "" {
			sshUser = "git"
		}
		a, err := newSSHAuth(c.safeURL, sshUser, c.host, auth)
		if err != nil {
			return nil, err
		}
		c.ssh = a
		return c, nil
	}

	switch {
	case auth.BearerToken != "" && (auth.Username != "" || auth.Password != ""):
		return nil, fmt.Errorf("%w: set either a bearer token or a username and password, not both",
			ErrAuthentication)
	case auth.BearerToken != "":
		c.httpAuth = &githttp.TokenAuth{Token: auth.BearerToken}
	case auth.Username != "" || auth.Password != "":
		c.httpAuth = &githttp.BasicAuth{Username: auth.Username, Password: auth.Password}
	}
	if len(auth.CAFile) > 0 {
		if !x509.NewCertPool().AppendCertsFromPEM(auth.CAFile) {
			return nil, fmt.Errorf("%w: the CA bundle (ca.crt) holds no PEM certificate", ErrTLS)
		}
		c.caBundle = auth.CAFile
	}
	return c, nil
}

// URL returns the repository URL without any password, for messages.
func (c *Client) URL() string { return c.safeURL }

func (c *Client) authMethod() transport.AuthMethod {
	if c.isSSH {
		return c.ssh
	}
	if c.httpAuth == nil {
		return nil
	}
	return c.httpAuth
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func redactURLString(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		return "***" + s[i:]
	}
	return s
}
