// Command tether-reconciler is Tether's in-cluster part: one controller-runtime
// manager that runs the reconciler of every Tether kind.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/tether-gitops/tether/pkg/reconciler"
)

func main() {
	opts := reconciler.DefaultOptions()
	fs := flag.NewFlagSet("tether-reconciler", flag.ContinueOnError)
	opts.BindFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if err := reconciler.Run(opts); err != nil {
		fmt.Fprintf(os.Stderr, "tether-reconciler: %v\n", err)
		os.Exit(1)
	}
}
