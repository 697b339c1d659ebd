package artifact

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var gitRepo = ObjectRef{Kind: "GitRepository", Namespace: "flux-system", Name: "podinfo"}

func sourceTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"README.md":                 "# demo\n",
		"deploy/app.yaml":           "kind: Deployment\n",
		"deploy/nested/svc.yaml":    "kind: Service\n",
		"empty/":                    "",
		".git/HEAD":                 "ref: refs/heads/main\n",
		"deploy/.hidden/notes.yaml": "secret: no\n",
	}, 0o644)
	if err := os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"current":          "deploy/app.yaml", // kept
		"deploy/up":        "..",              // kept: resolves to dir itself
		"escape":           "../outside",      // dropped
		"absolute":         "/etc/passwd",     // dropped
		"deploy/loop":      "loop",            // dropped: loops
		"deploy/via-up":    "up/../../x",      // dropped: climbs out through "up"
		"deploy/dangling":  "missing.yaml",    // kept: inside, just absent
		"deploy/linkeddir": "nested",          // kept
	} {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func skipGit(rel string, d fs.DirEntry) bool { return rel != ".git" }

func TestArchiveDir_RoundTripPreservesFilesModesAndInsideSymlinks(t *testing.T) {
	s := newTestStore(t)
	src := sourceTree(t)
	a, err := s.ArchiveDir(gitRepo, src, "main@sha1:abc", skipGit)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.Path, "gitrepository/flux-system/podinfo/") || !strings.HasSuffix(a.Path, ".tar.gz") {
		t.Errorf("Path = %q, want gitrepository/flux-system/podinfo/<digest>.tar.gz", a.Path)
	}
	if a.URL != "http://tether.test/"+a.Path || a.Revision != "main@sha1:abc" || !strings.HasPrefix(a.Digest, "sha256:") || a.Size == nil {
		t.Errorf("unexpected artifact %+v", a)
	}

	out := filepath.Join(t.TempDir(), "out")
	if err := s.ExtractTo(a, out); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		"README.md": "# demo\n", "deploy/app.yaml": "kind: Deployment\n", "deploy/nested/svc.yaml": "kind: Service\n",
		"deploy/.hidden/notes.yaml": "secret: no\n", "run.sh": "#!/bin/sh\n",
	} {
		if got, err := os.ReadFile(filepath.Join(out, p)); err != nil || string(got) != want {
			t.Errorf("%s = %q (%v), want %q", p, got, err, want)
		}
	}
	for p, exec := range map[string]bool{"run.sh": true, "README.md": false} {
		fi, err := os.Stat(filepath.Join(out, p))
		if err != nil || (fi.Mode()&0o111 != 0) != exec {
			t.Errorf("%s mode %v (%v), want exec=%v", p, fi.Mode(), err, exec)
		}
	}
	if fi, err := os.Stat(filepath.Join(out, "empty")); err != nil || !fi.IsDir() {
		t.Errorf("empty directory not preserved: %v", err)
	}
	for link, target := range map[string]string{"current": "deploy/app.yaml", "deploy/up": "..", "deploy/dangling": "missing.yaml", "deploy/linkeddir": "nested"} {
		if got, err := os.Readlink(filepath.Join(out, filepath.FromSlash(link))); err != nil || got != target {
			t.Errorf("symlink %s -> %q (%v), want %q", link, got, err, target)
		}
	}
	for _, gone := range []string{".git", "escape", "absolute", "deploy/loop", "deploy/via-up"} {
		if _, err := os.Lstat(filepath.Join(out, filepath.FromSlash(gone))); !os.IsNotExist(err) {
			t.Errorf("%s should not be in the archive (err=%v)", gone, err)
		}
	}
}

func TestArchiveDir_IsDeterministic(t *testing.T) {
	s := newTestStore(t)
	files := map[string]string{"a.yaml": "a", "b/c.yaml": "c", "b/d/e.yaml": "e"}
	dir1, dir2 := t.TempDir(), t.TempDir()
	writeTree(t, dir1, files, 0o644)
	writeTree(t, dir2, files, 0o600) // modes normalise to 0644 anyway
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, p := range []string{"a.yaml", "b/c.yaml", "b/d/e.yaml", "b"} {
		if err := os.Chtimes(filepath.Join(dir2, p), old, old); err != nil {
			t.Fatal(err)
		}
	}

	first, err := s.ArchiveDir(gitRepo, dir1, "r1", nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.ArchiveDir(gitRepo, dir1, "r1", nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.ArchiveDir(gitRepo, dir2, "r2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.Digest != again.Digest || first.Digest != other.Digest || first.Path != other.Path {
		t.Errorf("digests differ: %s, %s, %s", first.Digest, again.Digest, other.Digest)
	}
	if other.Revision != "r2" {
		t.Errorf("Revision = %q, want the one given", other.Revision)
	}
	if n := countFiles(t, s, gitRepo); n != 1 {
		t.Errorf("unchanged content left %d files, want 1 reused file", n)
	}

	writeTree(t, dir1, map[string]string{"a.yaml": "changed"}, 0o644)
	changed, err := s.ArchiveDir(gitRepo, dir1, "r3", nil)
	if err != nil {
		t.Fatal(err)
	}
	if changed.Digest == first.Digest {
		t.Error("changed content kept the same digest")
	}
}

func TestArchiveDir_FilterSkipsDirectoriesWholesale(t *testing.T) {
	s := newTestStore(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"keep.yaml": "k", "vendor/x/y.yaml": "v", "skip.txt": "s"}, 0o644)
	var seen []string
	a, err := s.ArchiveDir(gitRepo, dir, "r", func(rel string, d fs.DirEntry) bool {
		seen = append(seen, rel)
		return rel != "vendor" && !strings.HasSuffix(rel, ".txt")
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "keep.yaml,skip.txt,vendor"; strings.Join(seen, ",") != want {
		t.Errorf("filter saw %v, want %s (sorted, not inside skipped dirs)", seen, want)
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := s.ExtractTo(a, out); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 || entries[0].Name() != "keep.yaml" {
		t.Errorf("archive holds %v, want only keep.yaml", entries)
	}
}

func countFiles(t *testing.T, s *Store, obj ObjectRef) int {
	t.Helper()
	dir, _ := obj.dir()
	entries, err := os.ReadDir(filepath.Join(s.Root(), filepath.FromSlash(dir)))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// The store refuses to archive a tree that its own ExtractTo would refuse,
// and a tree exactly at the limits archives and extracts again.
func TestArchiveDir_RefusesATreeOverTheLimits(t *testing.T) {
	src := t.TempDir()
	// Entries: dir/, dir/a, dir/b, c: 4; bytes: 4+4+2 = 10.
	writeTree(t, src, map[string]string{"dir/a": "aaaa", "dir/b": "bbbb", "c": "cc"}, 0o644)
	for _, tc := range []struct {
		name    string
		limits  Limits
		wantErr string
	}{
		{"at both limits", Limits{MaxBytes: 10, MaxFiles: 4}, ""},
		{"one byte over", Limits{MaxBytes: 9, MaxFiles: 4}, "more than 9 bytes"},
		{"one entry over", Limits{MaxBytes: 10, MaxFiles: 3}, "more than 3 entries"},
		{"no limits", Limits{MaxBytes: -1, MaxFiles: -1}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t, WithLimits(tc.limits))
			a, err := s.ArchiveDir(gitRepo, src, "main@sha1:abc", nil)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrLimit with %q", err, tc.wantErr)
				}
				if entries, _ := os.ReadDir(filepath.Join(s.root, "gitrepository", "flux-system", "podinfo")); len(entries) != 0 {
					t.Errorf("a refused artifact left files: %v", entries)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := s.ExtractTo(a, filepath.Join(t.TempDir(), "out")); err != nil {
				t.Errorf("an archive within the limits does not extract with them: %v", err)
			}
		})
	}
}
