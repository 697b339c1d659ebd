package git_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tether-gitops/tether/pkg/source/git"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

func TestLoadIgnore_DefaultsSourceIgnoreAndSpec(t *testing.T) {
	srv := gitserver.NewHTTP(t)
	gitserver.InitRepo(t, srv.Root(), "app", map[string]string{
		".github/workflows/ci.yml": "on: push\n",
		".gitlab-ci.yml":           "x: 1\n",
		".travis.yml":              "x: 1\n",
		"logo.png":                 "png",
		"assets/img/photo.jpg":     "jpg",
		"release.tar.gz":           "tgz",
		"deploy/app.yaml":          "kind: ConfigMap\n",
		"deploy/secret.enc.yaml":   "sops\n",
		"deploy/.sourceignore":     "# encrypted files stay out\n*.enc.yaml\n",
		"deploy/nested/x.enc.yaml": "sops\n",
		"other/secret.enc.yaml":    "sops\n",
		".sourceignore":            "docs/\n/notes.txt\n",
		"docs/index.md":            "# docs\n",
		"docs/.sourceignore":       "!*\n",
		"notes.txt":                "n\n",
		"sub/notes.txt":            "n\n",
		"tests/e2e.yaml":           "t\n",
	})
	_, dir := checkout(t, newClient(t, srv.URL("app"), git.Auth{}), git.Ref{Branch: "main"})

	kept := func(spec *string) []string {
		ignore, err := git.LoadIgnore(dir, spec)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == dir {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			if ignore(rel, d.IsDir()) {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if !d.IsDir() {
				out = append(out, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	want := []string{".sourceignore", "deploy/.sourceignore", "deploy/app.yaml", "other/secret.enc.yaml", "sub/notes.txt", "tests/e2e.yaml"}
	if got := kept(nil); !slices.Equal(got, want) {
		t.Errorf("without spec.ignore kept\n%q\nwant\n%q", got, want)
	}

	spec := "/tests/\n!logo.png\n!/deploy/secret.enc.yaml\n"
	want = []string{".sourceignore", "deploy/.sourceignore", "deploy/app.yaml", "deploy/secret.enc.yaml", "logo.png", "other/secret.enc.yaml", "sub/notes.txt"}
	if got := kept(&spec); !slices.Equal(got, want) {
		t.Errorf("with spec.ignore kept\n%q\nwant\n%q", got, want)
	}

	ignore, err := git.LoadIgnore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rel   string
		isDir bool
		want  bool
	}{
		{".git", true, true},
		{".git/config", false, true},
		{".github/workflows/ci.yml", false, true},
		{"deploy/nested/x.enc.yaml", false, true},
		{"deploy", true, false},
		{"./deploy/app.yaml", false, false},
		{"", true, false},
	} {
		if got := ignore(tc.rel, tc.isDir); got != tc.want {
			t.Errorf("ignore(%q, %v) = %v, want %v", tc.rel, tc.isDir, got, tc.want)
		}
	}
}

// A .sourceignore is a file of the repository, which may commit it as a
// symlink: one that leaves the tree (a Secret, /dev/zero) is refused rather
// than read, one that stays inside is followed.
func TestLoadIgnore_SourceIgnoreSymlinks(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "rules")
	if err := os.WriteFile(outside, []byte("*.yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, target, wantErr string
		ignored               bool
	}{
		{"outside", outside, "escapes", false},
		{"relative outside", "../../../../../../../../../../" + outside, "escapes", false},
		{"device", "/dev/zero", "escapes", false},
		{"inside", "rules.txt", "", true},
		{"dangling inside", "missing", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range map[string]string{"app.yaml": "a", "rules.txt": "*.yaml\n"} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(tc.target, filepath.Join(dir, git.SourceIgnoreFile)); err != nil {
				t.Fatal(err)
			}
			ignore, err := git.LoadIgnore(dir, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("LoadIgnore() = %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ignore("app.yaml", false); got != tc.ignored {
				t.Errorf("app.yaml ignored = %v, want %v", got, tc.ignored)
			}
		})
	}
}

func TestLoadIgnore_RefusesAHugeSourceIgnore(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, git.SourceIgnoreFile), make([]byte, 1<<20+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := git.LoadIgnore(dir, nil); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("LoadIgnore() = %v, want a size error", err)
	}
}
