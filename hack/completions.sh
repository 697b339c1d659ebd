#!/usr/bin/env bash
# Writes the static shell completion scripts into completions/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p completions
go run ./cmd/tether completion bash > completions/tether.bash
go run ./cmd/tether completion zsh > completions/_tether
go run ./cmd/tether completion fish > completions/tether.fish
go run ./cmd/tether completion powershell > completions/tether.ps1
