package artifact

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// GC deletes obj's old artifact files, keeping the store's retention count of
// the most recently written ones (by mtime; reusing a file refreshes it) and
// always current, plus any temp files left by an interrupted write. current
// may be empty when the object has no artifact yet. It returns the removed
// paths, relative to the root.
func (s *Store) GC(obj ObjectRef, current meta.Artifact) (removed []string, err error) {
	dir, err := obj.dir()
	if err != nil {
		return nil, err
	}
	if current.Path != "" && path.Dir(current.Path) != dir {
		// Refuse rather than treat every file as stale because of a mix-up.
		return nil, fmt.Errorf("garbage collecting %s: current artifact %q belongs to another object", obj, current.Path)
	}
	mu := s.lock(dir)
	mu.Lock()
	defer mu.Unlock()

	root, err := os.OpenRoot(s.root)
	if err != nil {
		return nil, fmt.Errorf("opening artifact storage: %w", err)
	}
	defer root.Close()
	entries, err := fs.ReadDir(root.FS(), dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("garbage collecting %s: %w", obj, err)
	}

	type file struct {
		rel string
		fi  fs.FileInfo
	}
	var files []file
	var errs []error
	remove := func(rel string) {
		if err := root.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			return
		}
		removed = append(removed, rel)
	}
	for _, e := range entries {
		rel := dir + "/" + e.Name()
		switch {
		case strings.HasPrefix(e.Name(), tempPrefix):
			// Under the lock no write of ours is in flight: it is a leftover.
			remove(rel)
		case e.Type().IsRegular() && !strings.HasPrefix(e.Name(), "."):
			fi, err := e.Info()
			if err != nil {
				continue // removed meanwhile
			}
			files = append(files, file{rel, fi})
		}
	}

	// Newest first; the name breaks ties so the result does not depend on
	// directory order.
	slices.SortFunc(files, func(a, b file) int {
		if c := b.fi.ModTime().Compare(a.fi.ModTime()); c != 0 {
			return c
		}
		return cmp.Compare(a.rel, b.rel)
	})
	keep := 0
	if slices.ContainsFunc(files, func(f file) bool { return f.rel == current.Path }) {
		keep = 1 // current counts against the retention wherever it sorts
	}
	for _, f := range files {
		if f.rel == current.Path {
			continue
		}
		if keep < s.retention {
			keep++
			continue
		}
		remove(f.rel)
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("garbage collecting %s: %w", obj, errors.Join(errs...))
	}
	return removed, nil
}

// Remove deletes every artifact of obj, for when the object itself is
// deleted. The parent kind/namespace directories stay: removing them could
// race with another object's write creating its directory there.
func (s *Store) Remove(obj ObjectRef) error {
	dir, err := obj.dir()
	if err != nil {
		return err
	}
	mu := s.lock(dir)
	mu.Lock()
	defer mu.Unlock()
	root, err := os.OpenRoot(s.root)
	if err != nil {
		return fmt.Errorf("opening artifact storage: %w", err)
	}
	defer root.Close()
	if err := root.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing artifacts of %s: %w", obj, err)
	}
	return nil
}
