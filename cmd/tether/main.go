// Command tether is the Tether command-line interface.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tether-gitops/tether/pkg/cmd/root"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	streams := iostreams.System()
	f := cmdutil.New(streams)
	err := root.NewCmdRoot(f).ExecuteContext(ctx)
	if err != nil {
		cmdutil.PrintError(streams.ErrOut, err, f.Verbose)
	}
	return cmdutil.ExitCode(err)
}
