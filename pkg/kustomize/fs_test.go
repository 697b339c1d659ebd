package kustomize

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadDir_FollowsLinksInsideTheDirectory(t *testing.T) {
	dir := writeDir(t, files{
		"base/cm.yaml":       configMap("a"),
		"app/other.yaml":     configMap("b"),
		".git/config":        "[core]",
		"app/.git/HEAD":      "ref: main",
		"app/deep/x/y.yaml":  configMap("c"),
		"app/deep/x/z.txt":   "z",
		"base/sub/note.yaml": "n: 1",
	})
	mustLink(t, "../base/cm.yaml", filepath.Join(dir, "app", "cm.yaml"))
	mustLink(t, "../base", filepath.Join(dir, "app", "base"))
	fsys, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/app/cm.yaml", "/app/base/cm.yaml", "/app/base/sub/note.yaml", "/app/deep/x/z.txt"} {
		if data, err := fsys.ReadFile(p); err != nil || len(data) == 0 {
			t.Errorf("%s not loaded: %v", p, err)
		}
	}
	if fsys.Exists("/.git") || fsys.Exists("/app/.git") {
		t.Error(".git was loaded")
	}
}

func TestLoadDir_RejectsLinksLeavingTheDirectory(t *testing.T) {
	outside := writeDir(t, files{"secret.yaml": configMap("s")})
	tests := map[string]string{
		"outside file":      filepath.Join(outside, "secret.yaml"),
		"outside directory": outside,
		"relative escape":   "../../../../../../../../../../etc/hostname",
		"dangling":          "missing.yaml",
	}
	for name, target := range tests {
		t.Run(name, func(t *testing.T) {
			dir := writeDir(t, files{"app/cm.yaml": configMap("a")})
			mustLink(t, target, filepath.Join(dir, "app", "evil.yaml"))
			_, err := LoadDir(dir)
			if err == nil || !strings.Contains(err.Error(), "app/evil.yaml") {
				t.Errorf("error = %v, want one naming app/evil.yaml", err)
			}
		})
	}
}

func TestLoadDir_LinkLoopIsAnError(t *testing.T) {
	dir := writeDir(t, files{"app/cm.yaml": configMap("a")})
	mustLink(t, "..", filepath.Join(dir, "app", "up"))
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "app/up") {
		t.Errorf("error = %v", err)
	}
}

func TestLoadDir_Limits(t *testing.T) {
	dir := writeDir(t, files{"a.yaml": configMap("a"), "b.yaml": configMap("b"), "c.yaml": configMap("c")})
	if _, err := LoadDirLimited(dir, 2, 1<<20); err == nil || !strings.Contains(err.Error(), "more than 2 files") {
		t.Errorf("file limit: %v", err)
	}
	if _, err := LoadDirLimited(dir, 10, 100); err == nil || !strings.Contains(err.Error(), "more than 100 bytes") {
		t.Errorf("byte limit: %v", err)
	}
	if _, err := LoadDirLimited(dir, 3, 1<<20); err != nil {
		t.Errorf("within limits: %v", err)
	}
	if _, err := LoadDir(filepath.Join(dir, "a.yaml")); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file: %v", err)
	}
}

func mustLink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks unsupported: %v", err)
	}
}
