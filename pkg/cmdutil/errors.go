package cmdutil

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// ExitError carries a process exit code other than 1 (diff's 1 means "changes",
// >1 means failure) or a silent failure whose message was already printed.
type ExitError struct {
	Code   int
	Err    error
	Silent bool
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode maps an error returned by a command to the process's exit code.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}

// UsageErrorf reports a bad flag or argument.
func UsageErrorf(format string, a ...any) error {
	return fmt.Errorf(format, a...)
}

// Summary is an error whose message says in one line what failed and what to
// do, leaving out the detail of its cause (a dial error's address chain, an
// API server's status), which --verbose prints.
type Summary struct {
	Msg string
	Err error
}

func (e *Summary) Error() string { return e.Msg }
func (e *Summary) Unwrap() error { return e.Err }

// Summarize wraps err in a one-line Summary.
func Summarize(err error, format string, a ...any) error {
	return &Summary{Msg: fmt.Sprintf(format, a...), Err: err}
}

// PrintError writes err as `error: message`; with verbose, followed by its
// chain of causes, one per line with its Go type, and the API server's
// status details (reason, code, field causes) where the chain has them.
func PrintError(w io.Writer, err error, verbose bool) {
	var ee *ExitError
	if errors.As(err, &ee) && ee.Silent {
		return // the command printed its outcome
	}
	fmt.Fprintf(w, "error: %v\n", err)
	if !verbose {
		return
	}
	var chain bytes.Buffer
	printChain(&chain, err, "  ")
	if chain.Len() > 0 {
		fmt.Fprintf(w, "caused by:\n%s", chain.Bytes())
	}
}

func printChain(w io.Writer, err error, indent string) {
	for err != nil {
		msg := err.Error()
		var next error
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			next = u.Unwrap()
		case interface{ Unwrap() []error }:
			fmt.Fprintf(w, "%s%s (%T)\n", indent, firstLine(msg), err)
			for _, e := range u.Unwrap() {
				printChain(w, e, indent+"  ")
			}
			return
		}
		if _, ok := err.(*Summary); ok {
			err = next // its message is the line above the chain
			continue
		}
		// Show what this layer adds: its message without its cause's.
		if next != nil {
			msg = strings.TrimSuffix(strings.TrimSuffix(msg, next.Error()), ": ")
		}
		if msg != "" {
			fmt.Fprintf(w, "%s%s (%T)\n", indent, msg, err)
		}
		var se apierrors.APIStatus
		if s, ok := err.(apierrors.APIStatus); ok {
			se = s
		}
		if se != nil {
			st := se.Status()
			fmt.Fprintf(w, "%s  API status: %d %s", indent, st.Code, st.Reason)
			if d := st.Details; d != nil {
				fmt.Fprintf(w, ", %s %q", strings.TrimSpace(d.Group+" "+d.Kind), d.Name)
				fmt.Fprintln(w)
				for _, c := range d.Causes {
					fmt.Fprintf(w, "%s    %s: %s (%s)\n", indent, c.Field, c.Message, c.Type)
				}
			} else {
				fmt.Fprintln(w)
			}
		}
		err = next
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}
