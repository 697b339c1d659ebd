// Package iostreams holds the standard streams of a command and knows whether
// they are terminals, so that commands print progress on stderr (decorated on a
// terminal, plain in CI and pipes) and data on stdout.
package iostreams

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// IOStreams are a command's standard streams.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY  bool
	stderrTTY bool
	// decorate: symbols and a spinner (not in CI nor on TERM=dumb);
	// color: and colours (not with NO_COLOR).
	decorate bool
	color    bool
}

// System returns the process's streams, detecting terminals, CI and NO_COLOR.
func System() *IOStreams {
	return fromEnv(os.Stdin, os.Stdout, os.Stderr, isTerminal(os.Stdin), isTerminal(os.Stderr), os.LookupEnv)
}

// fromEnv decides how to print from whether stdin and stderr are terminals
// and from the environment: CI=... or TERM=dumb print plain lines, as to a
// pipe; NO_COLOR (any value) keeps the symbols but drops the colours.
func fromEnv(in io.Reader, out, errOut io.Writer, stdinTTY, stderrTTY bool, lookup func(string) (string, bool)) *IOStreams {
	env := func(k string) string { v, _ := lookup(k); return v }
	_, noColor := lookup("NO_COLOR")
	s := &IOStreams{In: in, Out: out, ErrOut: errOut, stdinTTY: stdinTTY}
	// A dumb terminal can still answer a question, but not redraw a line.
	s.stderrTTY = stderrTTY && env("CI") == ""
	s.decorate = s.stderrTTY && env("TERM") != "dumb"
	s.color = s.decorate && !noColor
	return s
}

// Test returns streams backed by buffers: in, out, errOut.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// CanPrompt reports whether the user can answer a question on stdin.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stderrTTY }

// Confirm asks a yes/no question on stderr and reads the answer from stdin:
// "y" or "yes" (any case) is a yes, anything else or no answer a no. Callers
// check CanPrompt first.
func (s *IOStreams) Confirm(question string) bool {
	fmt.Fprintf(s.ErrOut, "%s [y/N] ", question)
	answer, _ := bufio.NewReader(s.In).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(answer))
	return a == "y" || a == "yes"
}

// Decorated reports whether progress goes to an interactive terminal that
// can show symbols and redraw a line (not in CI, not TERM=dumb).
func (s *IOStreams) Decorated() bool { return s.decorate }

// SetTTY marks the streams as terminals (for tests of interactive behaviour).
func (s *IOStreams) SetTTY(tty bool) { s.stdinTTY, s.stderrTTY, s.decorate = tty, tty, tty }

// Step prints a progress line on stderr: "► msg" on a terminal, "-- msg"
// elsewhere.
func (s *IOStreams) Step(format string, a ...any) { s.line("►", "", format, a...) }

// Success prints a line for a completed step.
func (s *IOStreams) Success(format string, a ...any) { s.line("✔", "\033[32m", format, a...) }

// Warn prints a warning line.
func (s *IOStreams) Warn(format string, a ...any) { s.line("!", "\033[33m", format, a...) }

// Failure prints a line for a failed step.
func (s *IOStreams) Failure(format string, a ...any) { s.line("✗", "\033[31m", format, a...) }

func (s *IOStreams) line(symbol, color, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	switch {
	case s.color && color != "":
		fmt.Fprintf(s.ErrOut, "%s%s\033[0m %s\n", color, symbol, msg)
	case s.decorate:
		fmt.Fprintf(s.ErrOut, "%s %s\n", symbol, msg)
	default:
		// Plain, greppable lines for CI logs and pipes.
		fmt.Fprintf(s.ErrOut, "%s %s\n", plainSymbol(symbol), msg)
	}
}

func plainSymbol(s string) string {
	switch s {
	case "✔":
		return "ok:"
	case "✗":
		return "error:"
	case "!":
		return "warning:"
	}
	return "--"
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
