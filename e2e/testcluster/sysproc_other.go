//go:build !linux

package testcluster

import "syscall"

// childSysProcAttr puts a child in its own process group so that Stop can signal the
// group. Outside Linux there is no parent death signal: a crashed test can leave
// children running.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func wrapWithPdeathsig(bin, _ string) (string, error) { return bin, nil }

// findChildren needs /proc; elsewhere kube-apiserver's and etcd's pids are unknown.
func findChildren(string) map[string]int { return map[string]int{} }
