package git_test

import (
	"io/fs"
	"path/filepath"
	"slices"
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
