//go:build linux

package testcluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// childSysProcAttr puts a child in its own process group (so that Stop can signal the
// group) and has the kernel kill it when the thread that started it dies. All children
// are started from one locked OS thread that lives as long as the process (see
// forkThread), so that "the thread dies" means "the test process dies".
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// wrapWithPdeathsig returns a path to run instead of bin: a script that sets the parent
// death signal with setpriv(1) and then execs bin (same pid). envtest starts
// kube-apiserver and etcd itself, with Setpgid but no Pdeathsig, so without this a
// crashed or timed-out test would leave them running. Without setpriv, bin itself.
func wrapWithPdeathsig(bin, dir string) (string, error) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		return bin, nil
	}
	wrapper := filepath.Join(dir, filepath.Base(bin))
	script := "#!/bin/sh\nexec " + shellQuote(setpriv) + " --pdeathsig KILL -- " + shellQuote(bin) + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		return "", err
	}
	return wrapper, nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// findChildren returns the pids of this process's children whose command line
// contains marker, by the base name of their executable.
func findChildren(marker string) map[string]int {
	out := map[string]int{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	self := os.Getpid()
	for _, e := range entries {
		pid := atoiOrZero(e.Name())
		if pid == 0 || parentPid(pid) != self {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if len(args) == 0 || !strings.Contains(string(raw), marker) {
			continue
		}
		out[filepath.Base(args[0])] = pid
	}
	return out
}

// parentPid reads the parent pid from /proc/<pid>/stat (0 if unknown).
func parentPid(pid int) int {
	raw, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may contain spaces.
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 2 {
		return 0
	}
	return atoiOrZero(fields[1])
}
