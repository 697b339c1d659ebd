// Command tether is the Tether command-line interface.
package main

import (
	"context"
	"errors"
	"fmt"
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
	cmd := root.NewCmdRoot(cmdutil.New(streams))
	err := cmd.ExecuteContext(ctx)
	if err != nil {
		var ee *cmdutil.ExitError
		if !(errors.As(err, &ee) && ee.Silent) {
			fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
		}
	}
	return cmdutil.ExitCode(err)
}
