package cmdutil

import (
	"errors"
	"fmt"
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
