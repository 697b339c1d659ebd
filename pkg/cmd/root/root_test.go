package root

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

// probe returns a root command with a subcommand that records the namespace
// flag it sees, to test where flag values come from.
func probe(t *testing.T) (*cobra.Command, *string) {
	t.Helper()
	io, _, _, _ := iostreams.Test()
	root := NewCmdRoot(cmdutil.New(io))
	got := new(string)
	root.AddCommand(&cobra.Command{Use: "probe", RunE: func(cmd *cobra.Command, _ []string) error {
		*got, _ = cmd.Flags().GetString("namespace")
		return nil
	}})
	return root, got
}

func TestFlagPrecedence_FlagThenEnvThenConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("namespace: from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"config file", "", []string{"probe", "--config", cfg}, "from-file"},
		{"env beats file", "from-env", []string{"probe", "--config", cfg}, "from-env"},
		{"flag beats env", "from-env", []string{"probe", "--config", cfg, "-n", "from-flag"}, "from-flag"},
		{"default", "", []string{"probe", "--config", filepath.Join(dir, "none.yaml")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TETHER_NAMESPACE", tt.env)
			if tt.env == "" {
				os.Unsetenv("TETHER_NAMESPACE")
			}
			root, got := probe(t)
			root.SetArgs(tt.args)
			err := root.Execute()
			if tt.name == "default" {
				// An explicitly named config file that does not exist is an error.
				if err == nil {
					t.Fatal("missing --config file accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got != tt.want {
				t.Errorf("namespace = %q, want %q", *got, tt.want)
			}
		})
	}
}

func TestDefaultConfigFileMayBeAbsent(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	root, got := probe(t)
	root.SetArgs([]string{"probe"})
	if err := root.Execute(); err != nil {
		t.Fatalf("absent default config file: %v", err)
	}
	if *got != "" {
		t.Errorf("namespace = %q, want empty", *got)
	}
}
