package testcluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

const modulePath = "github.com/tether-gitops/tether"

// RepoRoot returns the root of the Tether repository: the directory with Tether's go.mod,
// found by walking up from the working directory (a test runs in its package's
// directory) or else from this package's source directory.
func RepoRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			if isTetherRoot(dir) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("cannot find the Tether repository (a go.mod for module %s) above %s", modulePath, strings.Join(starts, " or "))
}

func isTetherRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
			return fields[1] == modulePath
		}
	}
	return false
}

// KubernetesVersion returns the Kubernetes version that tests run against:
// $TETHER_K8S_VERSION if set, else TETHER_K8S_VERSION_DEFAULT from hack/k8s-versions.env.
func KubernetesVersion() (string, error) {
	if v := os.Getenv("TETHER_K8S_VERSION"); v != "" {
		return v, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	path := filepath.Join(root, "hack", "k8s-versions.env")
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "TETHER_K8S_VERSION_DEFAULT="); ok {
			return strings.Trim(v, `"'`), nil
		}
	}
	return "", fmt.Errorf("no TETHER_K8S_VERSION_DEFAULT in %s", path)
}

// BinaryDir returns the directory that holds kube-apiserver, etcd, kubectl,
// kube-controller-manager, kube-scheduler and kwok: $TETHER_TEST_BINS if set, else the
// directory printed by hack/build-controlplane.sh, which builds them the first time
// (about 6 minutes on 2 cores) and reuses its cache under $HOME/.cache/tether afterwards.
// $TETHER_K8S_VERSION passes through to the script. Concurrent callers (test packages
// run in parallel) wait for one another rather than building twice.
func BinaryDir(ctx context.Context) (string, error) {
	if dir := os.Getenv("TETHER_TEST_BINS"); dir != "" {
		return dir, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("%w; set TETHER_TEST_BINS to a directory with the control plane binaries", err)
	}
	unlock, err := lockBuild(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()

	script := filepath.Join(root, "hack", "build-controlplane.sh")
	cmd := exec.CommandContext(ctx, script)
	cmd.Dir = root
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 8 << 10}
	cmd.Stdout = &stdout
	cmd.Stderr = io.MultiWriter(os.Stderr, stderr) // a cold build takes minutes: show progress
	cmd.SysProcAttr = childSysProcAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := forkThread(cmd.Start); err != nil {
		return "", fmt.Errorf("running %s: %w", script, err)
	}
	if err := cmd.Wait(); err != nil {
		return "", fmt.Errorf("building the test control plane with %s failed (%w); build it with `make controlplane` "+
			"(or run the script) and see its output, or set TETHER_TEST_BINS to a directory with the binaries; "+
			"last lines of its output:\n%s", script, err, tailLines(stderr.String(), 15))
	}
	dir := strings.TrimSpace(lastLine(stdout.String()))
	if dir == "" {
		return "", fmt.Errorf("%s printed no directory", script)
	}
	return dir, nil
}

// lockBuild takes an exclusive lock beside the binary cache, polling so that ctx can
// cancel the wait.
func lockBuild(ctx context.Context) (unlock func(), err error) {
	cache := os.Getenv("TETHER_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, err
		}
		cache = filepath.Join(home, ".cache", "tether")
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(cache, ".testcluster-build.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if !told {
			fmt.Fprintf(os.Stderr, "testcluster: waiting for another build of the control plane to finish (lock %s)\n", path)
			told = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = b.buf[len(b.buf)-b.max:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string { return string(b.buf) }
