#!/usr/bin/env bash
# Builds versitygw (an S3 API server with a posix backend, used by the Bucket tests)
# from the Go module proxy into $HOME/.cache/tether/, once per version and Go version,
# and prints the path of the binary.
#
# TETHER_VERSITYGW_VERSION picks another version than the pinned one.
set -euo pipefail
version=${TETHER_VERSITYGW_VERSION:-v1.8.0}
module=github.com/versity/versitygw
cache=${TETHER_CACHE:-$HOME/.cache/tether}
gover=$(go env GOVERSION)
out="$cache/versitygw-$version-$gover"

log() { echo "build-versitygw: $*" >&2; }

if [ -x "$out/versitygw" ]; then
  echo "$out/versitygw"; exit 0
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.build-versitygw-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
log "building versitygw (module $module $version); about 3 minutes on 2 cores"
# Run outside any module so that the project's go.mod plays no part.
if ! (cd "$tmp" && CGO_ENABLED=0 GOBIN="$tmp/bin" GOFLAGS= GOTOOLCHAIN=local \
  go install -trimpath -ldflags "-s -w" "$module/cmd/versitygw@$version"); then
  log "module $module $version failed to build; see the output above"
  exit 1
fi
rm -rf "$out"
mkdir -p "$(dirname "$out")"
mv "$tmp/bin" "$out"
log "built in $(( $(date +%s) - start ))s: $out/versitygw"
echo "$out/versitygw"
