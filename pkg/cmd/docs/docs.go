// Package docs generates the CLI reference (docs/cli) from the command tree
// with cobra's Markdown generator, so that the reference is the commands'
// own help and cannot drift from it.
package docs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"
)

// Generate writes one Markdown page per command of root into dir, after
// removing the pages there, so that removed commands lose their page.
// Defaults that depend on the machine (the home directory) are written as
// $HOME, and the "auto generated on <date>" footer is left out, so that the
// output is the same everywhere.
func Generate(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	home, _ := os.UserHomeDir()
	visit(root, func(c *cobra.Command) {
		c.DisableAutoGenTag = true
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.InheritedFlags(), c.PersistentFlags(), c.Flags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if home != "" && strings.Contains(f.DefValue, home) {
					f.DefValue = strings.ReplaceAll(f.DefValue, home, "$HOME")
				}
			})
		}
	})
	if err := doc.GenMarkdownTree(root, dir); err != nil {
		return fmt.Errorf("generating the CLI reference in %s: %w", dir, err)
	}
	return nil
}

func visit(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		visit(sub, fn)
	}
}
