// Command gendocs writes the CLI reference, one Markdown page per command,
// into the directory given (make docs: docs/cli).
package main

import (
	"fmt"
	"os"

	"github.com/tether-gitops/tether/pkg/cmd/docs"
	"github.com/tether-gitops/tether/pkg/cmd/root"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendocs DIR")
		os.Exit(2)
	}
	io, _, _, _ := iostreams.Test()
	if err := docs.Generate(root.NewCmdRoot(cmdutil.New(io)), os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
