package artifact

import (
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

const (
	// maxLinkHops bounds the symlinks followed in one resolution, like the
	// kernel's ELOOP limit.
	maxLinkHops = 40
	// maxLinkParts bounds the path components walked in one resolution,
	// across hops. Real links have a handful; this stops a target of
	// thousands of "a/.." from costing thousands of lookups.
	maxLinkParts = 256
	// extractLinkBudget bounds lookups over a whole extraction (creation and
	// final checks), so 100k hostile links cannot cost minutes of CPU. Real
	// trees use a few per link.
	extractLinkBudget = 4 << 20
)

// linkResolver decides whether symlinks stay inside a tree, resolving them
// the way the kernel would: each existing component is looked up and
// symlinks are followed, so ".." after a symlink climbs from where the link
// points, not from where it sits. Components that do not exist are taken
// literally, since nothing can be followed through them.
type linkResolver struct {
	fsys   fs.ReadLinkFS
	budget int // lookups left; exhausted means every later link is refused
}

// inside reports whether the symlink target, found in directory base (both
// slash-separated, relative to the tree's root; base free of symlinks),
// resolves inside the tree. Absolute targets, loops and overly long chains
// count as outside.
func (r *linkResolver) inside(base, target string) bool {
	var cur []string
	if base != "." && base != "" {
		cur = strings.Split(base, "/")
	}
	w := walk{r: r}
	_, ok := w.resolve(cur, target)
	return ok
}

func (r *linkResolver) exhausted() bool { return r.budget <= 0 }

// walk is the state of one resolution.
type walk struct {
	r     *linkResolver
	hops  int
	parts int
}

func (w *walk) resolve(cur []string, target string) ([]string, bool) {
	if target == "" || path.IsAbs(target) || filepath.IsAbs(target) {
		return nil, false
	}
	cur = slices.Clone(cur)
	for part := range strings.SplitSeq(target, "/") {
		if w.parts++; w.parts > maxLinkParts {
			return nil, false
		}
		switch part {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return nil, false // above the root
			}
			cur = cur[:len(cur)-1]
			continue
		}
		cur = append(cur, part)
		if w.r.budget--; w.r.budget < 0 {
			return nil, false
		}
		name := strings.Join(cur, "/")
		fi, err := w.r.fsys.Lstat(name)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			continue // a real file or directory, or missing: nothing to follow
		}
		if w.hops++; w.hops > maxLinkHops {
			return nil, false
		}
		next, err := w.r.fsys.ReadLink(name)
		if err != nil {
			return nil, false
		}
		resolved, ok := w.resolve(cur[:len(cur)-1], filepath.ToSlash(next))
		if !ok {
			return nil, false
		}
		cur = resolved
	}
	return cur, true
}
