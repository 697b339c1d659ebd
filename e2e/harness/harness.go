// Package harness builds the tether binaries once per test process and runs
// them against a test cluster: the CLI as a command, the reconciler as a
// background process that stops with the test.
package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tether-gitops/tether/e2e/testcluster"
)

// Version is linked into the binaries that the e2e tests build.
const Version = "v0.0.0-e2e"

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Binaries builds bin/tether and bin/tether-reconciler into a temporary
// directory (once per process; the Go build cache makes it quick) and returns it.
func Binaries() (string, error) {
	buildOnce.Do(func() {
		root, err := testcluster.RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		binDir, buildErr = os.MkdirTemp("", "tether-e2e-bin-")
		if buildErr != nil {
			return
		}
		ldflags := "-X github.com/tether-gitops/tether/pkg/version.Version=" + Version
		for _, name := range []string{"tether", "tether-reconciler"} {
			cmd := exec.Command("go", "build", "-ldflags", ldflags, "-o", filepath.Join(binDir, name), "./cmd/"+name)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("building %s: %v\n%s", name, err, out)
				return
			}
		}
	})
	return binDir, buildErr
}

// Result is what a CLI run printed and how it exited.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
}

// Tether runs the CLI against the cluster (its kubeconfig is passed with
// --kubeconfig unless args already name one) and returns its output; it fails
// the test only if the binary cannot be run at all.
func Tether(t testing.TB, c *testcluster.Cluster, args ...string) Result {
	t.Helper()
	return TetherWithStdin(t, c, "", args...)
}

// TetherWithStdin is Tether with input on stdin.
func TetherWithStdin(t testing.TB, c *testcluster.Cluster, stdin string, args ...string) Result {
	t.Helper()
	dir, err := Binaries()
	if err != nil {
		t.Fatal(err)
	}
	if c != nil && !hasFlag(args, "--kubeconfig") {
		args = append([]string{"--kubeconfig", c.KubeconfigPath}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "tether"), args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "CI=true", "XDG_CONFIG_HOME="+t.TempDir())
	cmd.Stdin = bytes.NewBufferString(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("running tether %v: %v", args, err)
	}
	t.Logf("tether %v -> exit %d\nstdout:\n%s\nstderr:\n%s", args, res.ExitCode, res.Stdout, res.Stderr)
	return res
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || len(a) > len(name) && a[:len(name)+1] == name+"=" {
			return true
		}
	}
	return false
}

// Reconciler is a tether-reconciler process running against a test cluster.
type Reconciler struct {
	cmd         *exec.Cmd
	HealthAddr  string
	MetricsAddr string
	LogPath     string
	done        chan struct{}
	exitErr     error
}

// StartReconciler runs tether-reconciler with the cluster's kubeconfig, on free
// loopback ports, waits until /readyz answers and stops it in t.Cleanup.
func StartReconciler(t testing.TB, c *testcluster.Cluster, extraArgs ...string) *Reconciler {
	t.Helper()
	dir, err := Binaries()
	if err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{HealthAddr: freeAddr(t), MetricsAddr: freeAddr(t), LogPath: filepath.Join(t.TempDir(), "reconciler.log"), done: make(chan struct{})}
	logFile, err := os.Create(r.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{
		"--kubeconfig", c.KubeconfigPath,
		"--health-addr", r.HealthAddr,
		"--metrics-addr", r.MetricsAddr,
		"--log-encoding", "console",
	}, extraArgs...)
	r.cmd = exec.Command(filepath.Join(dir, "tether-reconciler"), args...)
	r.cmd.Stdout, r.cmd.Stderr = logFile, logFile
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.exitErr = r.cmd.Wait()
		logFile.Close()
		close(r.done)
	}()
	t.Cleanup(func() {
		r.Stop(t)
		if t.Failed() {
			data, _ := os.ReadFile(r.LogPath)
			t.Logf("reconciler log:\n%s", tailBytes(data, 8000))
		}
	})
	testcluster.Eventually(t, 30*time.Second, 100*time.Millisecond, func() error {
		select {
		case <-r.done:
			data, _ := os.ReadFile(r.LogPath)
			return fmt.Errorf("reconciler exited: %v\n%s", r.exitErr, tailBytes(data, 4000))
		default:
		}
		return r.get("/readyz")
	})
	return r
}

// Exited reports whether the process has exited, and its error.
func (r *Reconciler) Exited() (bool, error) {
	select {
	case <-r.done:
		return true, r.exitErr
	default:
		return false, nil
	}
}

// Stop sends SIGTERM and waits for the process to exit (SIGKILL after 30 s).
func (r *Reconciler) Stop(t testing.TB) error {
	if exited, err := r.Exited(); exited {
		return err
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
		t.Errorf("reconciler did not stop within 30s of SIGTERM")
	}
	return r.exitErr
}

// Pid is the process id.
func (r *Reconciler) Pid() int { return r.cmd.Process.Pid }

func (r *Reconciler) get(path string) error {
	resp, err := http.Get("http://" + r.HealthAddr + path)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return nil
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func tailBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
