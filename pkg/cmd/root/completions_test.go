package root

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

// The scripts in completions/ ship in release archives; they must match the
// commands. `make completions` regenerates them.
func TestCompletionScriptsAreFresh(t *testing.T) {
	for shell, file := range map[string]string{"bash": "tether.bash", "zsh": "_tether", "fish": "tether.fish", "powershell": "tether.ps1"} {
		io, _, out, _ := iostreams.Test()
		root := NewCmdRoot(cmdutil.New(io))
		root.SetArgs([]string{"completion", shell})
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		if out.Len() == 0 {
			t.Fatalf("%s: empty completion script", shell)
		}
		committed, err := os.ReadFile(filepath.Join("..", "..", "..", "completions", file))
		if err != nil {
			t.Fatalf("%s: %v: run make completions", shell, err)
		}
		if !bytes.Equal(committed, out.Bytes()) {
			t.Errorf("completions/%s is stale: run make completions", file)
		}
	}
}

func TestCompletion_RejectsUnknownShell(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	root := NewCmdRoot(cmdutil.New(io))
	root.SetArgs([]string{"completion", "tcsh"})
	if err := root.Execute(); err == nil {
		t.Fatal("tcsh accepted")
	}
}
