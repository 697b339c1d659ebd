package git

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// updateSubmodules checks out the submodules of w, and theirs down to depth
// levels. Their URLs come from the repository's .gitmodules, which whoever
// can push writes, so they are not trusted as the spec's URL is: local paths
// and file:// are refused (they would read the reconciler's own disk), and
// the credentials go only to the parent's scheme, host and port. A submodule
// elsewhere is fetched over HTTP(S) without them; over SSH it is refused.
func (c *Client) updateSubmodules(ctx context.Context, w *gogit.Worktree, parent *transport.Endpoint, depth int) error {
	subs, err := w.Submodules()
	if err != nil {
		return err
	}
	top, err := transport.NewEndpoint(c.url)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		cfg := sub.Config()
		ep, err := submoduleEndpoint(parent, cfg.URL)
		if err != nil {
			return fmt.Errorf("%w: submodule %q: %w", ErrInvalidURL, cfg.Name, err)
		}
		var auth transport.AuthMethod
		switch {
		case sameServer(ep, top):
			auth = c.authFor(ctx)
		case ep.Protocol == "ssh" && top.Protocol != "ssh":
			return fmt.Errorf("%w: submodule %q is an SSH URL (%s) while the repository is fetched over %s: use a relative or %s URL in .gitmodules",
				ErrInvalidURL, cfg.Name, ep.Host, top.Protocol, top.Protocol)
		case ep.Protocol == "ssh":
			return fmt.Errorf("%w: submodule %q is on another SSH host (%s): only the repository's own host can use its key",
				ErrInvalidURL, cfg.Name, ep.Host)
		}
		what := fmt.Sprintf("update submodule %q (%s) of", cfg.Name, redactURLString(ep.String()))
		r, err := c.fetchSubmodule(ctx, sub, auth)
		if err != nil {
			return c.wrap(what, err)
		}
		if err := sub.UpdateContext(ctx, &gogit.SubmoduleUpdateOptions{NoFetch: true}); err != nil {
			return c.wrap(what, err)
		}
		if depth <= 1 {
			continue
		}
		sw, err := r.Worktree()
		if err != nil {
			return err
		}
		if err := c.updateSubmodules(ctx, sw, ep, depth-1); err != nil {
			return err
		}
	}
	return nil
}

// sameServer reports whether a and b name the same scheme, host and port,
// the port defaulting to the scheme's: git@host:org/x.git (port 22) and
// ssh://git@host/org/y.git (no port) are the same server.
func sameServer(a, b *transport.Endpoint) bool {
	return a.Protocol == b.Protocol && strings.EqualFold(a.Host, b.Host) && portOr(a) == portOr(b)
}

func portOr(ep *transport.Endpoint) int {
	if ep.Port != 0 {
		return ep.Port
	}
	switch ep.Protocol {
	case "ssh":
		return 22
	case "https":
		return 443
	case "http":
		return 80
	}
	return 0
}

// fetchSubmodule initialises sub and fetches the commit the parent records
// for it. go-git's Submodule.Update would fetch too, but cannot be given the
// CA bundle.
func (c *Client) fetchSubmodule(ctx context.Context, sub *gogit.Submodule, auth transport.AuthMethod) (*gogit.Repository, error) {
	if err := sub.Init(); err != nil && !errors.Is(err, gogit.ErrSubmoduleAlreadyInitialized) {
		return nil, err
	}
	st, err := sub.Status() // Expected: the commit in the parent's tree
	if err != nil {
		return nil, err
	}
	r, err := sub.Repository()
	if err != nil {
		return nil, err
	}
	fetch := func(specs ...config.RefSpec) error {
		err := r.FetchContext(ctx, &gogit.FetchOptions{Auth: auth, CABundle: c.caBundle, RefSpecs: specs})
		if errors.Is(err, gogit.NoErrAlreadyUpToDate) {
			return nil
		}
		return err
	}
	if err := fetch(); err != nil {
		return nil, err
	}
	if _, err := r.CommitObject(st.Expected); err != nil {
		// Not on a branch: ask for the commit itself, if the server allows it.
		h := st.Expected.String()
		if err := fetch(config.RefSpec("+" + h + ":" + h)); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// submoduleEndpoint resolves a .gitmodules URL as go-git does: a local path
// that is not absolute is relative to the parent's URL.
func submoduleEndpoint(parent *transport.Endpoint, raw string) (*transport.Endpoint, error) {
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		return nil, fmt.Errorf("cannot parse its URL %q", redactURLString(raw))
	}
	if ep.Protocol == "file" {
		if strings.Contains(raw, "://") || path.IsAbs(raw) || filepath.IsAbs(raw) {
			return nil, fmt.Errorf("its URL %q is a path on the reconciler's disk: use a relative URL (../lib.git) or http(s)/ssh", raw)
		}
		rel := *parent
		rel.Path = path.Join(parent.Path, raw)
		return &rel, nil
	}
	switch ep.Protocol {
	case "http", "https", "ssh":
		return ep, nil
	}
	return nil, fmt.Errorf("its URL %s uses %s://: use http(s)://, ssh:// or a relative URL", redactURLString(raw), ep.Protocol)
}
