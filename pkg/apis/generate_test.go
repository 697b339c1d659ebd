package apis_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const staleMessage = "generated files are stale: run make generate"

// TestGeneratedFilesAreUpToDate runs hack/generate.sh on a copy of the API
// sources and fails when the committed zz_generated.deepcopy.go files or
// manifests/crds differ from its output.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum", "hack/generate.sh", "hack/boilerplate.go.txt"} {
		copyFile(t, filepath.Join(root, f), filepath.Join(tmp, f))
	}
	copyTree(t, filepath.Join(root, "pkg/apis"), filepath.Join(tmp, "pkg/apis"))

	cmd := exec.Command("bash", filepath.Join(tmp, "hack/generate.sh"))
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/generate.sh failed: %v\n%s", err, out)
	}

	committed := generatedFiles(t, root)
	fresh := generatedFiles(t, tmp)
	var stale []string
	for _, f := range fresh {
		want, err := os.ReadFile(filepath.Join(tmp, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root, f))
		switch {
		case os.IsNotExist(err):
			stale = append(stale, f+" is missing")
		case err != nil:
			t.Fatal(err)
		case !bytes.Equal(got, want):
			stale = append(stale, f+" differs"+firstDifference(got, want))
		}
	}
	for _, f := range committed {
		if !slices.Contains(fresh, f) {
			stale = append(stale, f+" is no longer generated")
		}
	}
	if len(stale) > 0 {
		t.Fatalf("%s\n  %s", staleMessage, strings.Join(stale, "\n  "))
	}
}

// generatedFiles lists, relative to root, the deepcopy files of pkg/apis and
// the files of manifests/crds.
func generatedFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(root, "pkg/apis"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "zz_generated.deepcopy.go" {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	crds, err := filepath.Glob(filepath.Join(root, "manifests/crds/*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range crds {
		rel, _ := filepath.Rel(root, p)
		out = append(out, filepath.ToSlash(rel))
	}
	slices.Sort(out)
	return out
}

// firstDifference describes the first line where got and want differ.
func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "; first at line " + strconv.Itoa(i+1) + ":\n    committed: " + gl + "\n    generated: " + wl
		}
	}
	return ""
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, info.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		copyFile(t, p, filepath.Join(dst, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
