#!/usr/bin/env bash
# The embedded default: a local control plane (make cluster-up), Tether installed
# into it, the reconciler running as a local process, a local git server with a
# demo repository (examples/), and a GitRepository + Kustomization that sync
# examples/demo into the cluster and keep it there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${TETHER_CLUSTER_DIR:-$HOME/.cache/tether/cluster}
export KUBECONFIG=$state/kubeconfig
tether=$root/bin/tether
kubectl=$(cat "$state/bindir" 2>/dev/null || true)/kubectl
[ -x "$kubectl" ] || kubectl=$("$root/hack/build-controlplane.sh")/kubectl

. "$root/hack/lib.sh"

"$tether" install
# kwok makes the in-cluster Deployment Available without running containers; the
# reconciler that does the work runs here as a process against the same API.
if alive "$state/reconciler.pid" tether-reconciler; then
  echo "-- reconciler already running (pid $(cat "$state/reconciler.pid"))" >&2
else
  nohup "$root/bin/tether-reconciler" --kubeconfig "$KUBECONFIG" --metrics-addr=127.0.0.1:0 \
    --health-addr=127.0.0.1:0 --storage-addr=127.0.0.1:0 --storage-path="$state/storage" \
    --log-encoding=console >"$state/reconciler.log" 2>&1 &
  echo $! > "$state/reconciler.pid"
  echo "-- reconciler started (pid $!, log $state/reconciler.log)" >&2
fi
"$tether" check

# The demo repository: examples/ committed into a bare repository served over
# smart HTTP on 127.0.0.1. Re-running commits the current examples/ if changed.
git=(git -c user.name=quickstart -c user.email=quickstart@localhost -c init.defaultBranch=main)
mkdir -p "$state/git"
[ -d "$state/git/demo.git" ] || "${git[@]}" init -q --bare "$state/git/demo.git"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"${git[@]}" clone -q "$state/git/demo.git" "$work/demo" 2>/dev/null
cp -r "$root/examples/." "$work/demo/"
(cd "$work/demo" && "${git[@]}" add -A && { "${git[@]}" diff --cached --quiet ||
  "${git[@]}" commit -qm "demo: examples/ from $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo the working tree)"; } &&
  "${git[@]}" push -q origin HEAD:main)
if ! alive "$state/git-serve.pid" git-serve; then
  (cd "$root" && go build -o "$state/bin/git-serve" ./pkg/testserver/gitserver/cmd/git-serve)
  rm -f "$state/git.url"
  nohup "$state/bin/git-serve" --root "$state/git" --url-file "$state/git.url" >"$state/git-serve.log" 2>&1 &
  echo $! > "$state/git-serve.pid"
  for _ in $(seq 1 50); do [ -s "$state/git.url" ] && break; sleep 0.1; done
fi
url=$(cat "$state/git.url")/demo.git
echo "-- demo repository $url" >&2

"$kubectl" apply --server-side --field-manager=quickstart -f - <<YAML
apiVersion: source.tether.dev/v1
kind: GitRepository
metadata: {name: demo, namespace: tether-system}
spec:
  url: $url
  ref: {branch: main}
  interval: 10s
---
apiVersion: kustomize.tether.dev/v1
kind: Kustomization
metadata: {name: demo, namespace: tether-system}
spec:
  sourceRef: {kind: GitRepository, name: demo}
  path: ./demo
  prune: true
  wait: true
  interval: 30s
  timeout: 2m
YAML
"$kubectl" -n tether-system wait --for=condition=Ready --timeout=3m gitrepository/demo kustomization/demo
"$tether" get all -n tether-system
"$kubectl" -n demo get deployment,service
"$tether" version
cat >&2 <<MSG

Tether keeps examples/demo of $url in the cluster: edit or delete the demo
objects and the next reconcile (30s) puts them back; commit to the repository
($state/git/demo.git) and the change is applied.

  export KUBECONFIG=$KUBECONFIG
  make cluster-down   # stops the control plane, the reconciler and the git server
MSG
