package git

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Revision is what a Ref points at on the remote.
type Revision struct {
	// Hash is the commit's SHA-1 (annotated tags are peeled to their commit).
	Hash string
	// Revision is the Flux-format revision: "main@sha1:<hash>",
	// "v1.2.3@sha1:<hash>", "refs/pull/1/head@sha1:<hash>" or "sha1:<hash>".
	Revision string
	// RefName is the full reference resolved, e.g. "refs/heads/main", or ""
	// for a bare commit.
	RefName string
}

func (r Revision) String() string { return r.Revision }

var commitHash = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Resolve finds the commit ref points at with a single ls-remote round trip
// and no clone, so that an unchanged revision costs one request. A Commit
// cannot be looked up that way: it is returned as given ("sha1:<hash>", or
// "<branch>@sha1:<hash>" with a Branch) without contacting the server.
func (c *Client) Resolve(ctx context.Context, ref Ref) (Revision, error) {
	if err := validateRef(ref); err != nil {
		return Revision{}, err
	}
	if ref.Commit != "" {
		return commitRevision(ref), nil
	}
	refs, err := c.listRefs(ctx)
	if err != nil {
		return Revision{}, err
	}
	return refs.resolve(ref, c.safeURL)
}

func validateRef(ref Ref) error {
	if ref.Commit != "" && !commitHash.MatchString(ref.Commit) {
		return fmt.Errorf("%w: commit %q is not a full 40-hex-digit SHA-1", ErrInvalidRef, ref.Commit)
	}
	if ref.Commit == "" && ref.Name != "" && ref.Name != "HEAD" && !strings.HasPrefix(ref.Name, "refs/") {
		return fmt.Errorf("%w: name %q must be a full reference such as refs/heads/main or refs/pull/1/head",
			ErrInvalidRef, ref.Name)
	}
	if ref.Commit == "" && ref.Name == "" && ref.SemVer != "" {
		if _, err := semver.NewConstraint(ref.SemVer); err != nil {
			return fmt.Errorf("%w: semver constraint %q: %v", ErrInvalidRef, ref.SemVer, err)
		}
	}
	return nil
}

func commitRevision(ref Ref) Revision {
	if ref.Branch != "" {
		return Revision{Hash: ref.Commit, Revision: ref.Branch + "@sha1:" + ref.Commit, RefName: plumbing.NewBranchReferenceName(ref.Branch).String()}
	}
	return Revision{Hash: ref.Commit, Revision: "sha1:" + ref.Commit}
}

// remoteRefs is one ref advertisement.
type remoteRefs struct {
	hashes map[string]string // ref name → hash (for annotated tags: the tag object)
	peeled map[string]string // tag ref name → commit hash
	head   string            // HEAD's target ref name, if advertised
}

func (c *Client) listRefs(ctx context.Context) (*remoteRefs, error) {
	auth := c.authFor(ctx)
	rem := gogit.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{c.url}})
	list, err := rem.ListContext(ctx, &gogit.ListOptions{
		Auth:          auth,
		CABundle:      c.caBundle,
		PeelingOption: gogit.AppendPeeled,
	})
	if err != nil {
		return nil, c.wrap("list references of", err)
	}
	r := &remoteRefs{hashes: map[string]string{}, peeled: map[string]string{}}
	var headHash string
	for _, ref := range list {
		name := ref.Name().String()
		switch {
		case name == "HEAD" && ref.Type() == plumbing.SymbolicReference:
			r.head = ref.Target().String()
		case name == "HEAD":
			headHash = ref.Hash().String()
		case strings.HasSuffix(name, "^{}"):
			r.peeled[strings.TrimSuffix(name, "^{}")] = ref.Hash().String()
		default:
			r.hashes[name] = ref.Hash().String()
		}
	}
	if r.head == "" && headHash != "" { // server without the symref capability: guess like git
		r.head = guessHead(r.hashes, headHash)
	}
	return r, nil
}

func guessHead(hashes map[string]string, head string) string {
	for _, b := range []string{"refs/heads/main", "refs/heads/master"} {
		if hashes[b] == head {
			return b
		}
	}
	var names []string
	for n, h := range hashes {
		if h == head && strings.HasPrefix(n, "refs/heads/") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) > 0 {
		return names[0]
	}
	return ""
}

// commit returns the commit hash of name, peeling annotated tags.
func (r *remoteRefs) commit(name string) (string, bool) {
	if h, ok := r.peeled[name]; ok {
		return h, true
	}
	h, ok := r.hashes[name]
	return h, ok
}

func (r *remoteRefs) resolve(ref Ref, url string) (Revision, error) {
	rev := func(short, full string) (Revision, error) {
		h, ok := r.commit(full)
		if !ok {
			return Revision{}, fmt.Errorf("%s %q not found in %s: %w", kindOf(ref), short, url, ErrNotFound)
		}
		return Revision{Hash: h, Revision: short + "@sha1:" + h, RefName: full}, nil
	}
	switch {
	case ref.Name != "":
		if ref.Name == "HEAD" && r.head != "" {
			h, ok := r.commit(r.head)
			if ok {
				return Revision{Hash: h, Revision: "HEAD@sha1:" + h, RefName: r.head}, nil
			}
		}
		return rev(ref.Name, ref.Name)
	case ref.SemVer != "":
		tag, err := r.highestTag(ref.SemVer)
		if err != nil {
			return Revision{}, fmt.Errorf("%s: %w", url, err)
		}
		return rev(tag, "refs/tags/"+tag)
	case ref.Tag != "":
		return rev(ref.Tag, "refs/tags/"+ref.Tag)
	case ref.Branch != "":
		return rev(ref.Branch, "refs/heads/"+ref.Branch)
	default:
		if !strings.HasPrefix(r.head, "refs/heads/") {
			return Revision{}, fmt.Errorf("%s has no default branch (HEAD): set a branch: %w", url, ErrNotFound)
		}
		return rev(strings.TrimPrefix(r.head, "refs/heads/"), r.head)
	}
}

func kindOf(ref Ref) string {
	switch {
	case ref.Name != "":
		return "reference"
	case ref.SemVer != "", ref.Tag != "":
		return "tag"
	default:
		return "branch"
	}
}

// highestTag returns the tag with the highest version matching constraint.
// Tags that are not semantic versions are ignored; of two tags with equal
// versions ("v1.0.0", "1.0.0") the one sorting last by name wins.
func (r *remoteRefs) highestTag(constraint string) (string, error) {
	cons, err := semver.NewConstraint(constraint)
	if err != nil {
		return "", fmt.Errorf("%w: semver constraint %q: %v", ErrInvalidRef, constraint, err)
	}
	var best *semver.Version
	bestTag := ""
	for name := range r.hashes {
		tag, ok := strings.CutPrefix(name, "refs/tags/")
		if !ok {
			continue
		}
		v, err := semver.NewVersion(tag)
		if err != nil || !cons.Check(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) || (v.Equal(best) && tag > bestTag) {
			best, bestTag = v, tag
		}
	}
	if best == nil {
		return "", fmt.Errorf("no tag matches semver constraint %q: %w", constraint, ErrNotFound)
	}
	return bestTag, nil
}

// authFor returns the auth method bounded by ctx's deadline where the
// transport cannot take a context (SSH dial and handshake).
func (c *Client) authFor(ctx context.Context) transport.AuthMethod {
	if c.isSSH {
		if dl, ok := ctx.Deadline(); ok {
			return c.ssh.withTimeout(max(time.Until(dl), time.Millisecond))
		}
		return c.ssh
	}
	return c.authMethod()
}
