package testcluster

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Main is for TestMain: it starts one cluster for the test package, calls setup (which
// may be nil; typically it stores the cluster in a package variable), runs the tests,
// stops the cluster and exits. If the cluster does not start, or setup fails, it prints
// why and exits 1: tests that need a cluster fail rather than skip. An interrupt
// (SIGINT/SIGTERM) stops the cluster before exiting.
func Main(m *testing.M, opts Options, setup func(*Cluster) error) {
	os.Exit(runMain(m, opts, setup))
}

func runMain(m *testing.M, opts Options, setup func(*Cluster) error) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var running *Cluster
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		cancel()
		mu.Lock()
		c := running
		mu.Unlock()
		if c != nil {
			fmt.Fprintf(os.Stderr, "testcluster: %v: stopping the control plane\n", sig)
			_ = c.Stop()
			os.Exit(1)
		}
	}()

	c, err := Start(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: starting the test control plane: %v\n", err)
		return 1
	}
	mu.Lock()
	running = c
	mu.Unlock()
	defer func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testcluster: stopping the test control plane: %v\n", err)
		}
	}()
	if setup != nil {
		if err := setup(c); err != nil {
			fmt.Fprintf(os.Stderr, "testcluster: setup: %v\n", err)
			return 1
		}
	}
	code := m.Run()
	if err := c.Stop(); err != nil && code == 0 {
		code = 1 // a component that died during the tests fails the package
	}
	return code
}

// NewNamespace creates a namespace with a unique name derived from the test's name and
// deletes it when the test ends (without waiting for the deletion to finish). If the
// cluster runs controllers (WithNodes) it waits for the namespace's default
// ServiceAccount, which pods need.
func NewNamespace(t testing.TB, c *Cluster) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: namespacePrefix(t.Name())}}
	if err := c.Client.Create(ctx, ns); err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	t.Cleanup(func() {
		// t.Context() is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := c.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns.Name}},
			client.PropagationPolicy(metav1.DeletePropagationBackground))
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", ns.Name, err)
		}
	})
	if c.opts.WithNodes {
		Eventually(t, 30*time.Second, 50*time.Millisecond, func() error {
			return c.Client.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "default"}, &corev1.ServiceAccount{})
		})
	}
	return ns.Name
}

// namespacePrefix turns a test name into a GenerateName prefix: lower case, letters,
// digits and dashes, at most 40 characters, ending with a dash.
func namespacePrefix(testName string) string {
	var b strings.Builder
	dash := true // no leading dash
	for _, r := range strings.ToLower(testName) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if s == "" {
		s = "test"
	}
	return s + "-"
}

// Eventually calls cond every interval until it returns nil, and fails the test
// (t.Fatal, so call it from the test's goroutine) if that has not happened within
// timeout, with cond's last error.
func Eventually(t testing.TB, timeout, interval time.Duration, cond func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeoutCause(t.Context(), timeout, fmt.Errorf("condition not met within %s", timeout))
	defer cancel()
	if err := poll(ctx, interval, cond); err != nil {
		t.Fatal(err)
	}
}
