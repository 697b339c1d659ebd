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
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/apis"
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

// RemoveBinaries deletes what Binaries built (a few hundred MB per test
// process); Main does it when the cluster stops.
func RemoveBinaries() error {
	if binDir == "" {
		return nil
	}
	return os.RemoveAll(binDir)
}

// Main is TestMain for a package whose tests share one cluster (with the
// Tether scheme and CRDs) and one reconciler: it starts them, stores them in
// *cluster and *reconciler, runs the tests and exits. The reconciler runs
// with --leader-elect=false and extraArgs, its state (storage, log) in the
// cluster's work dir, and stops with the cluster.
func Main(m *testing.M, cluster **testcluster.Cluster, reconciler **Reconciler, extraArgs ...string) {
	MainWith(m, nil, cluster, reconciler, extraArgs...)
}

// MainWith is Main with the cluster's options changed by configure (e.g.
// WithNodes, for tests whose Deployments must become available).
func MainWith(m *testing.M, configure func(*testcluster.Options), cluster **testcluster.Cluster, reconciler **Reconciler, extraArgs ...string) {
	scheme := runtime.NewScheme()
	if err := apis.AddToScheme(scheme); err != nil {
		panic(err)
	}
	root, err := testcluster.RepoRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness: %v\n", err)
		os.Exit(1)
	}
	opts := testcluster.Options{Scheme: scheme, CRDDirs: []string{filepath.Join(root, "manifests", "crds")}}
	if configure != nil {
		configure(&opts)
	}
	testcluster.Main(m, opts, func(c *testcluster.Cluster) error {
		*cluster = c
		r, err := Start(c, c.WorkDir, append([]string{"--leader-elect=false"}, extraArgs...)...)
		if err != nil {
			return fmt.Errorf("starting the reconciler: %w", err)
		}
		*reconciler = r
		c.OnStop(RemoveBinaries) // hooks run last first: after the reconciler stopped
		c.OnStop(r.Stop)
		return nil
	})
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
	// StorageAddr serves artifacts; StoragePath holds them.
	StorageAddr string
	StoragePath string
	LogPath     string
	done        chan struct{}
	exitErr     error
}

// StartReconciler runs tether-reconciler with the cluster's kubeconfig, on free
// loopback ports with its own storage directory, waits until /readyz answers
// and stops it in t.Cleanup. Only one reconciler may run per cluster at a
// time (they would fight over the objects): a package whose tests all need one
// starts it in TestMain with Main.
func StartReconciler(t testing.TB, c *testcluster.Cluster, extraArgs ...string) *Reconciler {
	t.Helper()
	r, err := Start(c, t.TempDir(), extraArgs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("reconciler: %v", err)
		}
		if t.Failed() {
			t.Logf("reconciler log:\n%s", r.Log(8000))
		}
	})
	return r
}

// Start runs tether-reconciler against c with its state (storage, log) under
// dir and waits until it is ready. Call Stop when done.
func Start(c *testcluster.Cluster, dir string, extraArgs ...string) (*Reconciler, error) {
	bins, err := Binaries()
	if err != nil {
		return nil, err
	}
	r := &Reconciler{
		HealthAddr: freeAddr(), MetricsAddr: freeAddr(), StorageAddr: freeAddr(),
		StoragePath: filepath.Join(dir, "storage"), LogPath: filepath.Join(dir, "reconciler.log"),
		done: make(chan struct{}),
	}
	logFile, err := os.Create(r.LogPath)
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--kubeconfig", c.KubeconfigPath,
		"--health-addr", r.HealthAddr,
		"--metrics-addr", r.MetricsAddr,
		"--storage-addr", r.StorageAddr,
		"--storage-path", r.StoragePath,
		"--log-encoding", "console",
		"--log-level", "debug",
	}, extraArgs...)
	r.cmd = exec.Command(filepath.Join(bins, "tether-reconciler"), args...)
	r.cmd.Stdout, r.cmd.Stderr = logFile, logFile
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	go func() {
		r.exitErr = r.cmd.Wait()
		logFile.Close()
		close(r.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if exited, exitErr := r.Exited(); exited {
			return nil, fmt.Errorf("reconciler exited: %v\n%s", exitErr, r.Log(4000))
		}
		if err := r.get("/readyz"); err == nil {
			return r, nil
		} else if time.Now().After(deadline) {
			_ = r.Stop()
			return nil, fmt.Errorf("reconciler not ready after 30s: %v\n%s", err, r.Log(4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Log returns the last n bytes of the reconciler's log.
func (r *Reconciler) Log(n int) string {
	data, _ := os.ReadFile(r.LogPath)
	return tailBytes(data, n)
}

// LogOnFailure shows the end of the reconciler's log if t fails.
func (r *Reconciler) LogOnFailure(t testing.TB) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("reconciler log (tail):\n%s", r.Log(6000))
		}
	})
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
func (r *Reconciler) Stop() error {
	if exited, err := r.Exited(); exited {
		return err
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(25 * time.Second):
		// SIGQUIT makes Go print every goroutine's stack to the log: what
		// holds the shutdown up (before the reconciler's own 30 s grace
		// period ends and it exits by itself).
		_ = r.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
			<-r.done
		}
		return fmt.Errorf("reconciler did not stop within 25s of SIGTERM; its goroutines in Tether's code:\n%s", r.stacks())
	}
	if r.exitErr != nil {
		return fmt.Errorf("reconciler: %w; log tail:\n%s", r.exitErr, r.Log(6000))
	}
	return nil
}

// stacks returns the goroutines of a SIGQUIT dump in the log that run
// Tether's or controller-runtime's code, or the log's tail.
func (r *Reconciler) stacks() string {
	data, _ := os.ReadFile(r.LogPath)
	var out []string
	for _, g := range strings.Split(string(data), "\n\n") {
		if strings.HasPrefix(g, "goroutine ") && (strings.Contains(g, "tether-gitops/tether/pkg/") || strings.Contains(g, "controller-runtime/pkg/manager")) {
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		return tailBytes(data, 8000)
	}
	return strings.Join(out, "\n\n")
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

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
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
