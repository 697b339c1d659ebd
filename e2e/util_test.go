package e2e

import (
	"fmt"
	"os/exec"
)

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }

func runBinary(path string, args ...string) (string, error) {
	out, err := exec.Command(path, args...).CombinedOutput()
	return string(out), err
}
