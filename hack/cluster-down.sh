#!/usr/bin/env bash
# Stops the control plane started by hack/cluster-up.sh and removes its state
# (kubeconfig, pid, run/); cluster.log stays for a post-mortem.
set -euo pipefail
dir=${TETHER_CLUSTER_DIR:-$HOME/.cache/tether/cluster}
. "$(dirname "$0")/lib.sh"

log() { echo "cluster-down: $*" >&2; }

running() {
  kill -0 "$pid" 2>/dev/null &&
    { [ ! -r "/proc/$pid/cmdline" ] || tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "up --dir"; }
}

# A reconciler started by `make quickstart` goes first.
if alive "$dir/reconciler.pid" tether-reconciler; then
  rpid=$(cat "$dir/reconciler.pid")
  kill -TERM "$rpid" 2>/dev/null || true
  log "stopped the reconciler (pid $rpid)"
fi
rm -f "$dir/reconciler.pid"
if alive "$dir/git-serve.pid" git-serve; then
  gpid=$(cat "$dir/git-serve.pid")
  kill -TERM "$gpid" 2>/dev/null || true
  log "stopped the git server (pid $gpid)"
fi
rm -f "$dir/git-serve.pid" "$dir/git.url"

if pid=$(cat "$dir/pid" 2>/dev/null) && running; then
  kill -TERM "$pid"
  for _ in $(seq 1 300); do # 60s
    running || break
    sleep 0.2
  done
  if running; then
    # Its children die with it (parent death signal).
    log "pid $pid did not stop within 60s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  log "stopped (pid $pid)"
else
  log "not running"
fi
rm -rf "$dir/kubeconfig" "$dir/bindir" "$dir/pid" "$dir/run"
