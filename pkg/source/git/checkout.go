package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Commit is the commit a Checkout left in its directory.
type Commit struct {
	Hash     string // SHA-1
	Revision string // Flux format, as in Revision.Revision
	Author   string // "Name <email>"
	Message  string
	// Signature is the armored OpenPGP signature (the gpgsig header), or ""
	// if the commit is not signed.
	Signature string
	// Encoded is the commit object without its signature: the bytes that
	// Signature signs. VerifyCommit checks it.
	Encoded []byte
}

// Checkout fetches what ref points at into dir (created if missing; it must
// be empty) and checks it out. Branches, tags, semver tags and Names are
// fetched alone with depth 1. A Commit on a Branch fetches that branch's
// history; a Commit alone is fetched by hash with depth 1 if the server
// allows it, otherwise every branch and tag is fetched. On error dir is left
// empty.
func (c *Client) Checkout(ctx context.Context, ref Ref, dir string) (_ Commit, err error) {
	if err := validateRef(ref); err != nil {
		return Commit{}, err
	}
	if err := ensureEmptyDir(dir); err != nil {
		return Commit{}, err
	}
	defer func() {
		if err != nil {
			emptyDir(dir)
		}
	}()

	// Like git.PlainInit, but the storage keeps its pack file open instead of
	// reopening it for every object the checkout reads.
	wt := osfs.New(dir)
	dot, err := wt.Chroot(gogit.GitDirName)
	if err != nil {
		return Commit{}, err
	}
	storage := filesystem.NewStorageWithOptions(dot, cache.NewObjectLRUDefault(),
		filesystem.Options{ExclusiveAccess: true, KeepDescriptors: true})
	defer storage.Close()
	repo, err := gogit.Init(storage, wt)
	if err != nil {
		return Commit{}, fmt.Errorf("init repository in %s: %w", dir, err)
	}
	remote, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{c.url}})
	if err != nil {
		return Commit{}, fmt.Errorf("add remote: %w", err)
	}

	var hash plumbing.Hash
	var revision string
	if ref.Commit != "" {
		hash, revision, err = c.fetchCommit(ctx, repo, remote, ref)
	} else {
		hash, revision, err = c.fetchRef(ctx, repo, remote, ref)
	}
	if err != nil {
		return Commit{}, err
	}

	worktree, err := repo.Worktree()
	if err != nil {
		return Commit{}, err
	}
	if err := worktree.Checkout(&gogit.CheckoutOptions{Hash: hash, Force: true}); err != nil {
		return Commit{}, fmt.Errorf("check out %s: %w", revision, err)
	}
	if c.opts.recurseSubmodules {
		top, err := transport.NewEndpoint(c.url)
		if err != nil {
			return Commit{}, err
		}
		if err := c.updateSubmodules(ctx, worktree, top, int(gogit.DefaultSubmoduleRecursionDepth)); err != nil {
			return Commit{}, err
		}
	}
	return commitInfo(repo, hash, revision)
}

// fetchRef fetches a branch, tag, semver tag, Name or the default branch with
// depth 1 and returns the commit it points at.
func (c *Client) fetchRef(ctx context.Context, repo *gogit.Repository, remote *gogit.Remote, ref Ref) (plumbing.Hash, string, error) {
	var full, short string
	switch {
	case ref.Name != "" && ref.Name != "HEAD":
		full, short = ref.Name, ref.Name
	case ref.Name == "HEAD", ref.SemVer != "", ref.Tag == "" && ref.Branch == "":
		// The advertisement is needed first: HEAD's target or the tag list.
		rev, err := c.Resolve(ctx, ref)
		if err != nil {
			return plumbing.ZeroHash, "", err
		}
		full, short = rev.RefName, strings.TrimSuffix(rev.Revision, "@sha1:"+rev.Hash)
	case ref.Tag != "":
		full, short = "refs/tags/"+ref.Tag, ref.Tag
	default:
		full, short = "refs/heads/"+ref.Branch, ref.Branch
	}

	local := full
	if b, ok := strings.CutPrefix(full, "refs/heads/"); ok {
		local = "refs/remotes/origin/" + b
	}
	spec := config.RefSpec("+" + full + ":" + local)
	if err := spec.Validate(); err != nil {
		return plumbing.ZeroHash, "", fmt.Errorf("%w: %q: %v", ErrInvalidRef, full, err)
	}
	if err := c.fetch(ctx, remote, 1, spec); err != nil {
		if refMissing(err) {
			return plumbing.ZeroHash, "", fmt.Errorf("%s %q not found in %s: %w", kindOf(ref), short, c.safeURL, ErrNotFound)
		}
		return plumbing.ZeroHash, "", err
	}
	r, err := repo.Reference(plumbing.ReferenceName(local), true)
	if err != nil {
		return plumbing.ZeroHash, "", fmt.Errorf("%s %q not found in %s: %w", kindOf(ref), short, c.safeURL, ErrNotFound)
	}
	hash, err := peel(repo, r.Hash())
	if err != nil {
		return plumbing.ZeroHash, "", fmt.Errorf("%s %q of %s: %w", kindOf(ref), short, c.safeURL, err)
	}
	return hash, short + "@sha1:" + hash.String(), nil
}

// fetchCommit fetches ref.Commit: with its branch's history when ref.Branch
// is set, otherwise by hash (depth 1) where the server allows it, falling
// back to all branches and tags.
func (c *Client) fetchCommit(ctx context.Context, repo *gogit.Repository, remote *gogit.Remote, ref Ref) (plumbing.Hash, string, error) {
	hash := plumbing.NewHash(ref.Commit)
	rev := commitRevision(ref)
	where := c.safeURL
	if ref.Branch != "" {
		where = fmt.Sprintf("branch %q of %s", ref.Branch, c.safeURL)
		spec := config.RefSpec("+refs/heads/" + ref.Branch + ":refs/remotes/origin/" + ref.Branch)
		if err := c.fetch(ctx, remote, 0, spec); err != nil {
			if refMissing(err) {
				return plumbing.ZeroHash, "", fmt.Errorf("branch %q not found in %s: %w", ref.Branch, c.safeURL, ErrNotFound)
			}
			return plumbing.ZeroHash, "", err
		}
	} else {
		err := c.fetch(ctx, remote, 1, config.RefSpec(ref.Commit+":refs/tether/commit"))
		if err != nil && !fatal(err) {
			err = c.fetch(ctx, remote, 0, "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")
		}
		if err != nil {
			return plumbing.ZeroHash, "", err
		}
	}
	if _, err := repo.CommitObject(hash); err != nil {
		return plumbing.ZeroHash, "", fmt.Errorf("commit %s not found in %s: %w", ref.Commit, where, ErrNotFound)
	}
	return hash, rev.Revision, nil
}

// refMissing tells a missing reference from a missing repository.
func refMissing(err error) bool {
	return errors.Is(err, ErrNotFound) && !errors.Is(err, transport.ErrRepositoryNotFound) &&
		!errors.Is(err, transport.ErrEmptyRemoteRepository)
}

// fatal reports errors that another fetch strategy cannot fix.
func fatal(err error) bool {
	return errors.Is(err, ErrAuthentication) || errors.Is(err, ErrHostKey) || errors.Is(err, ErrTLS) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (c *Client) fetch(ctx context.Context, remote *gogit.Remote, depth int, specs ...config.RefSpec) error {
	err := remote.FetchContext(ctx, &gogit.FetchOptions{
		RefSpecs: specs,
		Depth:    depth,
		Auth:     c.authFor(ctx),
		CABundle: c.caBundle,
		Tags:     gogit.NoTags,
	})
	if err == nil || errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return nil
	}
	return c.wrap("fetch from", err)
}

// peel follows annotated tags to the commit.
func peel(repo *gogit.Repository, h plumbing.Hash) (plumbing.Hash, error) {
	for range 10 {
		obj, err := repo.Object(plumbing.AnyObject, h)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		switch o := obj.(type) {
		case *object.Commit:
			return o.Hash, nil
		case *object.Tag:
			h = o.Target
		default:
			return plumbing.ZeroHash, fmt.Errorf("points at a %s, not a commit", obj.Type())
		}
	}
	return plumbing.ZeroHash, errors.New("too many nested tags")
}

func commitInfo(repo *gogit.Repository, hash plumbing.Hash, revision string) (Commit, error) {
	co, err := repo.CommitObject(hash)
	if err != nil {
		return Commit{}, fmt.Errorf("read commit %s: %w", hash, err)
	}
	enc := &plumbing.MemoryObject{}
	if err := co.EncodeWithoutSignature(enc); err != nil {
		return Commit{}, fmt.Errorf("encode commit %s: %w", hash, err)
	}
	rd, err := enc.Reader()
	if err != nil {
		return Commit{}, err
	}
	defer rd.Close()
	data, err := io.ReadAll(rd)
	if err != nil {
		return Commit{}, err
	}
	return Commit{
		Hash:      hash.String(),
		Revision:  revision,
		Author:    fmt.Sprintf("%s <%s>", co.Author.Name, co.Author.Email),
		Message:   co.Message,
		Signature: co.PGPSignature,
		Encoded:   data,
	}, nil
}

func ensureEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return fmt.Errorf("checkout directory: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("checkout directory %s is not empty", dir)
	}
	return nil
}

func emptyDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}
