// Command cluster keeps a test control plane (package testcluster, with kwok nodes)
// running for people: hack/cluster-up.sh starts it in the background and
// hack/cluster-down.sh stops it.
//
//	cluster up --dir DIR [--nodes N]
//
// It writes DIR/pid at once, DIR/kubeconfig (admin) and DIR/bindir (where kubectl is)
// once the cluster is ready, and runs until SIGTERM or SIGINT, then stops the cluster
// and removes DIR/kubeconfig, DIR/bindir and DIR/pid. Certificates, etcd data and the
// components' logs are in DIR/run (recreated by each up). A second up on the same DIR
// fails while the first runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/tether-gitops/tether/e2e/testcluster"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "cluster: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 || args[0] != "up" {
		return errors.New("usage: cluster up --dir DIR [--nodes N]")
	}
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	dir := fs.String("dir", "", "state directory (kubeconfig, pid, run/)")
	nodes := fs.Int("nodes", 1, "number of kwok nodes")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() > 0 {
		return errors.New("usage: cluster up --dir DIR [--nodes N]")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}

	// One instance per directory: the lock lives as long as this process.
	lock, err := os.OpenFile(filepath.Join(*dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(filepath.Join(*dir, "pid"))
		return fmt.Errorf("a cluster is already running for %s (pid %s)", *dir, pid)
	}
	state := func(name string) string { return filepath.Join(*dir, name) }
	for _, name := range []string{"kubeconfig", "bindir", "run"} {
		if err := os.RemoveAll(state(name)); err != nil {
			return err
		}
	}
	if err := writeAtomic(state("pid"), strconv.Itoa(os.Getpid())+"\n"); err != nil {
		return err
	}
	defer func() {
		for _, name := range []string{"kubeconfig", "bindir", "pid"} {
			_ = os.Remove(state(name))
		}
	}()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	c, err := testcluster.Start(ctx, testcluster.Options{WithNodes: true, Nodes: *nodes, WorkDir: state("run")})
	if err != nil {
		return err
	}
	kubeconfig, err := os.ReadFile(c.KubeconfigPath)
	if err == nil {
		err = writeAtomic(state("kubeconfig"), string(kubeconfig))
	}
	if err == nil {
		err = writeAtomic(state("bindir"), c.BinDir+"\n")
	}
	if err != nil {
		return errors.Join(err, c.Stop())
	}
	fmt.Fprintf(os.Stderr, "cluster: ready: kube-apiserver after %s, %d node(s) Ready after %s; pids %v; logs in %s\n",
		c.APIServerReady, *nodes, c.NodesReady, c.Processes(), filepath.Join(c.WorkDir, "logs"))

	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "cluster: stopping")
	if err := c.Stop(); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "cluster: stopped")
	return nil
}

// writeAtomic writes a file that readers see whole or not at all.
func writeAtomic(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
