#!/usr/bin/env bash
# The embedded default: a local control plane (make cluster-up), Tether installed
# into it, the reconciler running as a local process, and a health check.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${TETHER_CLUSTER_DIR:-$HOME/.cache/tether/cluster}
export KUBECONFIG=$state/kubeconfig
tether=$root/bin/tether

"$tether" install
# kwok makes the in-cluster Deployment Available without running containers; the
# reconciler that does the work runs here as a process against the same API.
if [ -f "$state/reconciler.pid" ] && kill -0 "$(cat "$state/reconciler.pid")" 2>/dev/null; then
  echo "-- reconciler already running (pid $(cat "$state/reconciler.pid"))" >&2
else
  nohup "$root/bin/tether-reconciler" --kubeconfig "$KUBECONFIG" --metrics-addr=127.0.0.1:0 \
    --health-addr=127.0.0.1:0 --log-encoding=console >"$state/reconciler.log" 2>&1 &
  echo $! > "$state/reconciler.pid"
  echo "-- reconciler started (pid $!, log $state/reconciler.log)" >&2
fi
"$tether" check
"$tether" version
cat >&2 <<MSG

Tether is installed in a local control plane. Syncing examples/ from a local git
server arrives with the GitRepository and Kustomization reconcilers; until then the
quickstart stops after install and check.

  export KUBECONFIG=$KUBECONFIG
  make cluster-down   # stops the control plane and the reconciler
MSG
