# Tether: build, generate, test. `make help` lists the targets.
SHELL := /usr/bin/env bash
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null | grep '^v' || echo v0.0.0-dev)
LDFLAGS := -s -w -X github.com/tether-gitops/tether/pkg/version.Version=$(VERSION)
BIN := bin
GO_TEST_FLAGS ?=
E2E_TIMEOUT ?= 45m

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: build
build: ## build bin/tether and bin/tether-reconciler
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/tether ./cmd/tether
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/tether-reconciler ./cmd/tether-reconciler

.PHONY: generate
generate: ## regenerate deepcopy code and CRDs (manifests/crds)
	hack/generate.sh

# The Kubernetes versions whose OpenAPI schemas `tether validate` embeds
# (pkg/kubeschema/data, about 20 KB each): the newest must be the test control
# plane's (TETHER_K8S_VERSION_DEFAULT in hack/k8s-versions.env; a test checks it).
K8S_SCHEMA_VERSIONS ?= v1.33.13 v1.34.4 v1.35.4 v1.36.3 v1.37.2

.PHONY: k8s-schemas
k8s-schemas: ## regenerate the Kubernetes schemas tether validate embeds (K8S_SCHEMA_VERSIONS; needs the Go module proxy)
	go run ./hack/genk8sschemas -out pkg/kubeschema/data $(K8S_SCHEMA_VERSIONS)

.PHONY: completions
completions: ## regenerate the static shell completion scripts in completions/
	hack/completions.sh

.PHONY: docs
docs: ## regenerate the CLI reference in docs/cli from the commands
	go run ./hack/gendocs docs/cli

.PHONY: controlplane
controlplane: ## build (or reuse from ~/.cache/tether) the test control plane binaries
	hack/build-controlplane.sh

.PHONY: test-servers
test-servers: ## build (or reuse) the servers tests talk to: versitygw (S3)
	hack/build-versitygw.sh

.PHONY: test
test: controlplane test-servers ## unit and e2e tests against a real control plane (builds it on first run)
	go vet ./...
	# -count=1: e2e tests run binaries built from this tree, which Go's test
	# cache does not see; a cached pass could hide a change.
	go test -count=1 -timeout $(E2E_TIMEOUT) $(GO_TEST_FLAGS) ./...

.PHONY: bench
bench: controlplane ## Kustomization scale benchmark (e2e/bench); TETHER_BENCH_N=100,300,1000 picks N (default 100,300)
	TETHER_BENCH_N="$(TETHER_BENCH_N)" go test -run '^$$' -bench . -benchtime 1x -timeout 60m ./e2e/bench/

.PHONY: test-unit
test-unit: ## tests that need no control plane
	go test $(GO_TEST_FLAGS) $$(go list ./... | grep -v /e2e)

.PHONY: cluster-up
cluster-up: controlplane ## start a local control plane with a kwok node and print its KUBECONFIG
	hack/cluster-up.sh

.PHONY: cluster-down
cluster-down: ## stop the local control plane
	hack/cluster-down.sh

.PHONY: quickstart
quickstart: build cluster-up ## local control plane + tether install + check (see README)
	hack/quickstart.sh

.PHONY: fmt
fmt: ## gofmt the code
	gofmt -w $$(git ls-files '*.go')
