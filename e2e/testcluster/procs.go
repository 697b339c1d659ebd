package testcluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// forkThread runs fn on one OS thread that is locked for the life of the process.
//
// Linux delivers the parent death signal when the *thread* that forked a child exits,
// not the process; the Go runtime may end threads (a goroutine that exits while locked
// takes its thread with it). Forking every child from this thread, which never exits,
// makes Pdeathsig mean "the test process died".
func forkThread(fn func() error) error {
	forkOnce.Do(func() {
		forkReqs = make(chan forkReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for r := range forkReqs {
				r.done <- r.fn()
			}
		}()
	})
	done := make(chan error, 1)
	forkReqs <- forkReq{fn: fn, done: done}
	return <-done
}

type forkReq struct {
	fn   func() error
	done chan error
}

var (
	forkOnce sync.Once
	forkReqs chan forkReq
)

// proc is a child process that the cluster started itself (controller-manager,
// scheduler, kwok), in its own process group, logging to a file.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error // set before done is closed
	stopped bool  // Stop asked it to exit
	mu      sync.Mutex
}

func startProc(name, bin string, args []string, logDir string) (*proc, error) {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = childSysProcAttr()
	if err := forkThread(cmd.Start); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// exitedEarly returns an error if the process has exited without Stop asking it to.
func (p *proc) exitedEarly() error {
	select {
	case <-p.done:
	default:
		return nil
	}
	p.mu.Lock()
	stopped := p.stopped
	p.mu.Unlock()
	if stopped {
		return nil
	}
	status := "exited"
	if p.waitErr != nil {
		status = p.waitErr.Error()
	}
	return fmt.Errorf("%s %s unexpectedly; last lines of %s:\n%s", p.name, status, p.logPath, tail(p.logPath, 20))
}

// acknowledgeExit makes an exit no longer unexpected.
func (p *proc) acknowledgeExit() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
}

// stop sends SIGTERM to the process group, then SIGKILL after grace.
func (p *proc) stop(grace time.Duration) error {
	early := p.exitedEarly()
	p.acknowledgeExit()
	select {
	case <-p.done:
		return early // already gone (and reaped): its pid may be reused, signal nothing
	default:
	}
	pgid := p.pid()
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	return nil
}

// alive reports whether pid names a live (not zombie) process.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil {
		return !errors.Is(err, syscall.ESRCH)
	}
	if st, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "stat")); err == nil {
		if i := bytes.LastIndexByte(st, ')'); i >= 0 && i+2 < len(st) && st[i+2] == 'Z' {
			return false
		}
	}
	return true
}

// RSSBytes returns the resident set size of a process (VmRSS in /proc/<pid>/status),
// for example of one of Cluster.Processes. Linux only.
func RSSBytes(pid int) (int64, error) {
	f, err := os.Open(filepath.Join("/proc", itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parsing %q: %w", line, err)
			}
			return kb * 1024, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// tail returns the last n lines of a file, indented, for error messages.
func tail(path string, n int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "    (" + err.Error() + ")"
	}
	return tailLines(string(raw), n)
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

func itoa(i int) string { return strconv.Itoa(i) }

func atoiOrZero(s string) int {
	i, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return i
}

// killGroup kills a process and its process group.
func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}
