#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, etcd, kwok) from the Go module proxy into $HOME/.cache/tether/, once per
# version set, and prints the directory that holds the binaries.
#
# TETHER_K8S_VERSION and TETHER_KWOK_VERSION pick other versions than the pinned ones in
# hack/k8s-versions.env. The pinned version builds from the committed hack/k8sbin module;
# another version gets a wrapper module generated on the fly.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=k8s-versions.env
. "$root/hack/k8s-versions.env"
k8s=${TETHER_K8S_VERSION:-$TETHER_K8S_VERSION_DEFAULT}
kwok=${TETHER_KWOK_VERSION:-$TETHER_KWOK_VERSION_DEFAULT}
cache=${TETHER_CACHE:-$HOME/.cache/tether}
gover=$(go env GOVERSION)

log() { echo "build-controlplane: $*" >&2; }

if [ "$k8s" = "$TETHER_K8S_VERSION_DEFAULT" ]; then
  mod="$root/hack/k8sbin"
else
  mod="$cache/k8sbin-src-$k8s"
  if [ ! -f "$mod/go.sum" ]; then
    log "generating a wrapper module for Kubernetes $k8s"
    "$root/hack/gen-k8sbin-module.sh" "$k8s" "$mod.tmp" >/dev/null
    rm -rf "$mod"; mv "$mod.tmp" "$mod"
  fi
fi
etcd=$(awk '$1=="go.etcd.io/etcd/server/v3" && $2 ~ /^v/ {print $2; exit}' "$mod/go.mod")
# The cache key covers what the binaries are built from; bump buildrev when the
# build commands below change, so that old caches are not reused.
buildrev=1
hash=$( (cat "$mod/go.mod" "$mod/go.sum"; echo "buildrev=$buildrev") | sha256sum | cut -c1-12)
out="$cache/k8s-$k8s-etcd-$etcd-kwok-$kwok-$gover-$hash"

if [ -x "$out/kube-apiserver" ] && [ -x "$out/kwok" ]; then
  echo "$out"; exit 0
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.build-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)

fail() { log "$1 failed to build: $2; see the output above (build log in $tmp was removed)"; exit 1; }

minor=${k8s#v1.}; minor=${minor%%.*}
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=0000000000000000000000000000000000000000"
  ldflags+=" -X $pkg.buildDate=$now"
done

for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  log "building $c (module k8s.io/kubernetes $k8s)"
  (cd "$mod" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$tmp/$c" "k8s.io/kubernetes/cmd/$c") ||
    fail "$c" "module k8s.io/kubernetes $k8s"
done
log "building etcd (module go.etcd.io/etcd/server/v3 $etcd)"
(cd "$mod" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3) ||
  fail etcd "module go.etcd.io/etcd/server/v3 $etcd"
log "building kwok (module sigs.k8s.io/kwok $kwok)"
(cd "$tmp" && CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS= go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$kwok") ||
  fail kwok "module sigs.k8s.io/kwok $kwok"

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
log "built in $(( $(date +%s) - start ))s: $out"
echo "$out"
