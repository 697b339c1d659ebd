#!/usr/bin/env bash
# Starts the test control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok with one fake node) in the background on 127.0.0.1, the same one
# that e2e tests start (package e2e/testcluster), and prints how to use it:
#
#   eval "$(hack/cluster-up.sh)"     # or: make cluster-up, then the printed export
#
# State in $TETHER_CLUSTER_DIR (default $HOME/.cache/tether/cluster): kubeconfig, pid,
# bindir (where the matching kubectl is), cluster.log, run/ (certificates, etcd data,
# component logs). TETHER_K8S_VERSION picks another Kubernetes version. Stop it with
# hack/cluster-down.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${TETHER_CLUSTER_DIR:-$HOME/.cache/tether/cluster}
nodes=${TETHER_CLUSTER_NODES:-1}

log() { echo "cluster-up: $*" >&2; }

# The pid in $dir/pid is alive and is our program (not a reused pid).
running() {
  local pid
  pid=$(cat "$dir/pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null &&
    { [ ! -r "/proc/$pid/cmdline" ] || tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "up --dir"; }
}

if running; then
  log "already running (pid $(cat "$dir/pid")); stop it with hack/cluster-down.sh"
  echo "export KUBECONFIG=$dir/kubeconfig"
  exit 0
fi
mkdir -p "$dir/bin"

bins=$("$root/hack/build-controlplane.sh")
(cd "$root" && go build -o "$dir/bin/cluster" ./e2e/testcluster/cmd/cluster)

rm -f "$dir/kubeconfig" "$dir/pid" # stale, from a run that did not stop cleanly
if command -v setsid >/dev/null; then detach=(setsid -f); else detach=(nohup); fi
TETHER_TEST_BINS=$bins "${detach[@]}" "$dir/bin/cluster" up --dir "$dir" --nodes "$nodes" \
  >"$dir/cluster.log" 2>&1 </dev/null &

# Wait for the kubeconfig (written once the nodes are Ready) and the apiserver answering.
deadline=$((SECONDS + 180))
until [ -f "$dir/kubeconfig" ] &&
  "$bins/kubectl" --kubeconfig "$dir/kubeconfig" get --raw /readyz >/dev/null 2>&1; do
  if [ $SECONDS -ge $deadline ]; then
    log "not ready after 180s; last lines of $dir/cluster.log:"; tail -n 20 "$dir/cluster.log" >&2
    exit 1
  fi
  # The program writes its pid at once; without it (or once it died), it failed.
  if [ -f "$dir/pid" ] && ! running; then
    log "failed to start; last lines of $dir/cluster.log:"; tail -n 20 "$dir/cluster.log" >&2
    exit 1
  fi
  sleep 0.2
done
log "running (pid $(cat "$dir/pid")); kubectl: $bins/kubectl; stop with hack/cluster-down.sh"
echo "export KUBECONFIG=$dir/kubeconfig"
