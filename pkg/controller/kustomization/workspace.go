package kustomization

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/artifact"
)

// workspace extracts each artifact once, by digest, for all the
// Kustomizations that build from it (a hundred apps from one repository
// extract it once), and removes extractions no longer used.
type workspace struct {
	store *artifact.Store
	root  string
	keep  int

	mu      sync.Mutex
	entries map[string]*extraction
}

type extraction struct {
	dir      string
	refs     int
	lastUsed time.Time
	once     sync.Once
	err      error
}

func newWorkspace(store *artifact.Store, tmp string) *workspace {
	if tmp == "" {
		tmp = os.TempDir()
	}
	return &workspace{store: store, root: filepath.Join(tmp, "tether-kustomize"), keep: 16, entries: map[string]*extraction{}}
}

// acquire returns the directory holding a's content, extracting it when
// needed; release must be called when the caller is done reading it.
func (w *workspace) acquire(a meta.Artifact) (dir string, release func(), err error) {
	name := strings.ReplaceAll(a.Digest, ":", "-")
	if name == "" || strings.ContainsAny(name, `/\.`) {
		return "", nil, fmt.Errorf("artifact %s has an invalid digest %q", a.Path, a.Digest)
	}
	w.mu.Lock()
	e, ok := w.entries[name]
	if !ok {
		e = &extraction{dir: filepath.Join(w.root, name)}
		w.entries[name] = e
	}
	e.refs++
	e.lastUsed = time.Now()
	w.mu.Unlock()
	release = func() {
		w.mu.Lock()
		e.refs--
		w.evictLocked()
		w.mu.Unlock()
	}

	e.once.Do(func() {
		_ = os.RemoveAll(e.dir)
		if e.err = os.MkdirAll(e.dir, 0o700); e.err == nil {
			e.err = w.store.ExtractTo(a, e.dir)
		}
	})
	if e.err != nil {
		release()
		w.mu.Lock()
		if w.entries[name] == e {
			delete(w.entries, name) // let the next attempt extract again
		}
		w.mu.Unlock()
		return "", nil, fmt.Errorf("extracting the artifact of revision %s: %w", a.Revision, e.err)
	}
	return e.dir, release, nil
}

// evictLocked removes the least recently used unused extractions past keep.
func (w *workspace) evictLocked() {
	for len(w.entries) > w.keep {
		var oldest string
		for name, e := range w.entries {
			if e.refs == 0 && (oldest == "" || e.lastUsed.Before(w.entries[oldest].lastUsed)) {
				oldest = name
			}
		}
		if oldest == "" {
			return
		}
		_ = os.RemoveAll(w.entries[oldest].dir)
		delete(w.entries, oldest)
	}
}
