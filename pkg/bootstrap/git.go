package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	gogit "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Author signs bootstrap commits.
type Author struct {
	Name  string
	Email string
}

// DefaultAuthor returns the author from the user's global git config
// (user.name, user.email), falling back to "Tether".
func DefaultAuthor() Author {
	a := Author{Name: "Tether", Email: "tether@users.noreply.invalid"}
	if cfg, err := gitconfig.LoadConfig(gitconfig.GlobalScope); err == nil {
		if cfg.User.Name != "" {
			a.Name = cfg.User.Name
		}
		if cfg.User.Email != "" {
			a.Email = cfg.User.Email
		}
	}
	return a
}

// Checkout is a working copy of the bootstrap branch in a temporary directory.
type Checkout struct {
	Dir    string
	URL    string
	Branch string
	// Empty is true when the branch did not exist on the remote (an empty
	// repository, or a new branch): the first commit creates it.
	Empty bool

	repo *gogit.Repository
	auth transport.AuthMethod
	ca   []byte
}

// Clone fetches branch of rawURL into a new temporary directory; Close
// removes it.
func Clone(ctx context.Context, rawURL, branch string, creds Credentials) (*Checkout, error) {
	auth, err := creds.authMethod(rawURL)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tether-bootstrap-")
	if err != nil {
		return nil, err
	}
	co := &Checkout{Dir: dir, URL: rawURL, Branch: branch, auth: auth, ca: creds.CAFile}
	ref := plumbing.NewBranchReferenceName(branch)
	co.repo, err = gogit.PlainCloneContext(ctx, dir, false, &gogit.CloneOptions{
		URL: rawURL, Auth: auth, CABundle: creds.CAFile, ReferenceName: ref, SingleBranch: true,
		Depth: 1, Tags: gogit.NoTags,
	})
	var noRef gogit.NoMatchingRefSpecError
	switch {
	case err == nil:
		return co, nil
	case errors.Is(err, transport.ErrEmptyRemoteRepository), errors.As(err, &noRef), isRefNotFound(err):
		_ = os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		co.Empty = true
		co.repo, err = gogit.PlainInitWithOptions(dir, &gogit.PlainInitOptions{InitOptions: gogit.InitOptions{DefaultBranch: ref}})
		if err != nil {
			return nil, err
		}
		if _, err := co.repo.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{rawURL}}); err != nil {
			return nil, err
		}
		return co, nil
	default:
		_ = os.RemoveAll(dir)
		return nil, cloneError(rawURL, err)
	}
}

// RemoteEmpty tells whether the repository at rawURL has no refs at all
// (like `git ls-remote` printing nothing). It asks the Git server itself,
// since what a hosting API says (GitHub's size) may lag behind a push.
func RemoteEmpty(ctx context.Context, rawURL string, creds Credentials) (bool, error) {
	auth, err := creds.authMethod(rawURL)
	if err != nil {
		return false, err
	}
	remote := gogit.NewRemote(memory.NewStorage(), &gitconfig.RemoteConfig{Name: "origin", URLs: []string{rawURL}})
	refs, err := remote.ListContext(ctx, &gogit.ListOptions{Auth: auth, CABundle: creds.CAFile})
	switch {
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return true, nil
	case err != nil:
		return false, cloneError(rawURL, err)
	}
	for _, r := range refs {
		if r.Type() == plumbing.HashReference && !r.Hash().IsZero() {
			return false, nil
		}
	}
	return true, nil
}

func isRefNotFound(err error) bool {
	return errors.Is(err, plumbing.ErrReferenceNotFound) ||
		err != nil && (containsAny(err.Error(), "couldn't find remote ref", "reference not found"))
}

func cloneError(rawURL string, err error) error {
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("cloning %s: %w: check the credentials (--username/--password, --private-key-file, or the deploy key's access)", rawURL, err)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("cloning %s: %w: check --url", rawURL, err)
	case containsAny(err.Error(), "unable to authenticate", "handshake failed"):
		return fmt.Errorf("cloning %s: SSH authentication failed (%v): give the key write access to the repository", rawURL, err)
	}
	return fmt.Errorf("cloning %s: %w", rawURL, err)
}

// Close removes the working copy.
func (c *Checkout) Close() error { return os.RemoveAll(c.Dir) }

// ReadFile returns a file of the working copy, or nil if it does not exist.
func (c *Checkout) ReadFile(rel string) []byte {
	data, err := os.ReadFile(filepath.Join(c.Dir, filepath.FromSlash(rel)))
	if err != nil {
		return nil
	}
	return data
}

// Head returns the hash of the branch's last commit ("" in an empty repository).
func (c *Checkout) Head() string {
	ref, err := c.repo.Head()
	if err != nil {
		return ""
	}
	return ref.Hash().String()
}

// WriteAndCommit writes files (repository-relative paths) and, if that
// changed anything, commits them. It returns whether it committed.
func (c *Checkout) WriteAndCommit(files map[string][]byte, msg string, author Author) (bool, error) {
	return c.WriteAndCommitSigned(files, msg, author, nil)
}

// WriteAndCommitSigned is WriteAndCommit with the commit signed by key
// (unsigned when key is nil).
func (c *Checkout) WriteAndCommitSigned(files map[string][]byte, msg string, author Author, key *openpgp.Entity) (bool, error) {
	wt, err := c.repo.Worktree()
	if err != nil {
		return false, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(c.Dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			return false, err
		}
		if _, err := wt.Add(n); err != nil {
			return false, fmt.Errorf("git add %s: %w", n, err)
		}
	}
	st, err := wt.Status()
	if err != nil {
		return false, err
	}
	changed := false
	for _, n := range names {
		if s := st.File(n); s.Staging != gogit.Unmodified && s.Staging != gogit.Untracked {
			changed = true
		}
	}
	if !changed {
		return false, nil
	}
	sig := &object.Signature{Name: author.Name, Email: author.Email, When: time.Now()}
	if _, err := wt.Commit(msg, &gogit.CommitOptions{Author: sig, Committer: sig, SignKey: key}); err != nil {
		return false, fmt.Errorf("git commit: %w", err)
	}
	return true, nil
}

// Push pushes the branch to origin.
func (c *Checkout) Push(ctx context.Context) error {
	ref := plumbing.NewBranchReferenceName(c.Branch)
	err := c.repo.PushContext(ctx, &gogit.PushOptions{
		RemoteName: "origin", Auth: c.auth, CABundle: c.ca,
		RefSpecs: []gitconfig.RefSpec{gitconfig.RefSpec(ref + ":" + ref)},
	})
	if err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		if errors.Is(err, transport.ErrAuthorizationFailed) || errors.Is(err, transport.ErrAuthenticationRequired) {
			return fmt.Errorf("pushing to %s: %w: the credentials need write access", c.URL, err)
		}
		return fmt.Errorf("pushing to %s: %w", c.URL, err)
	}
	return nil
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
