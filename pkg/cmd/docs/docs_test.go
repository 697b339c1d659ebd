package docs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tether-gitops/tether/pkg/cmd/docs"
	"github.com/tether-gitops/tether/pkg/cmd/root"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

// The reference in docs/cli is generated from the commands; it must match
// them. `make docs` regenerates it.
func TestCLIReferenceIsFresh(t *testing.T) {
	dir := t.TempDir()
	io, _, _, _ := iostreams.Test()
	if err := docs.Generate(root.NewCmdRoot(cmdutil.New(io)), dir); err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join("..", "..", "..", "docs", "cli")
	want, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	have, _ := filepath.Glob(filepath.Join(committed, "*.md"))
	names := func(paths []string) []string {
		var out []string
		for _, p := range paths {
			out = append(out, filepath.Base(p))
		}
		return out
	}
	if !slices.Equal(names(want), names(have)) {
		t.Fatalf("docs/cli has pages %v, the commands make %v: run make docs", names(have), names(want))
	}
	for _, p := range want {
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		old, err := os.ReadFile(filepath.Join(committed, filepath.Base(p)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, old) {
			t.Errorf("docs/cli/%s is stale: run make docs", filepath.Base(p))
		}
	}
}

func TestGenerate_WritesNoMachineSpecificDefaults(t *testing.T) {
	dir := t.TempDir()
	io, _, _, _ := iostreams.Test()
	if err := docs.Generate(root.NewCmdRoot(cmdutil.New(io)), dir); err != nil {
		t.Fatal(err)
	}
	home, _ := os.UserHomeDir()
	page, err := os.ReadFile(filepath.Join(dir, "tether.md"))
	if err != nil {
		t.Fatal(err)
	}
	if home != "" && bytes.Contains(page, []byte(home+"/")) {
		t.Errorf("tether.md holds the home directory %s", home)
	}
	if bytes.Contains(page, []byte("Auto generated")) {
		t.Error("tether.md has cobra's dated footer")
	}
}
