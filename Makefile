# odh-training — run `make help` for the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO ?= go
# Every target builds and tests with Go 1.27.3: the go command fetches it once
# from the module proxy (about 10 s). It fixes standard-library
# vulnerabilities of Go 1.26 that `make vulncheck` reports; go.mod still
# accepts Go 1.26.8 for plain `go build`/`go test`.
export GOTOOLCHAIN ?= go1.27.3
# Builds never rewrite go.mod/go.sum: a missing or changed requirement is an
# error (`go get` it, or run `go mod tidy`, and commit the result). This
# overrides a -mod=mod in the environment.
export GOFLAGS := $(strip $(filter-out -mod=%,$(GOFLAGS)) -mod=readonly)
# Modules whose go.mod must be tidy (`make verify-tidy`).
TIDY_MODULES := . tools
PYTHON ?= /usr/bin/python3
LISTEN ?= 127.0.0.1:8080
BIN := $(CURDIR)/bin
TOOLS_BIN := $(BIN)/tools

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.1.0-dev)
GIT_COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG := github.com/odh-training/odh-training/internal/version
LDFLAGS := -s -w -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).GitCommit=$(GIT_COMMIT) -X $(VERSION_PKG).BuildDate=$(BUILD_DATE)

# System packages, installed by the targets that need them (hack/ensure-packages.sh is idempotent).
RUN_PACKAGES := openmpi-bin mpich python3-mpi4py python3-numpy procps curl ca-certificates
TEST_PACKAGES := $(RUN_PACKAGES) python3-pytest etcd-server chromium haproxy prometheus
GEN_PACKAGES := protobuf-compiler libprotobuf-dev golang-github-gogo-googleapis-dev
GOOGLEAPIS := /usr/share/gocode/src/github.com/gogo/googleapis

##@ Quickstart

.PHONY: run
run: deps build ## Set up what is missing, build, start odh-server (local engine) on $(LISTEN) and run a real example MPI job
	@hack/run.sh "$(LISTEN)"

.PHONY: test
test: deps-test verify-tidy verify-generated verify-darwin vulncheck test-go test-sdk test-ui test-integration ## Run the whole test suite (Go, Python SDK, UI in Chromium, Kubernetes integration)

##@ Build

.PHONY: build
build: ui-build-if-node ## Build bin/odh and bin/odh-server (with the dashboard when Node.js is available)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/odh ./cmd/odh
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/odh-server ./cmd/odh-server

.PHONY: deps
deps: ## Install the system packages `make run` needs (Open MPI, MPICH, mpi4py, numpy) when missing
	@hack/ensure-packages.sh $(RUN_PACKAGES)

.PHONY: deps-test
deps-test: ## Install the system packages the tests need when missing
	@hack/ensure-packages.sh $(TEST_PACKAGES)

.PHONY: ui
ui: ## Build the dashboard into ui/dist (needs Node.js and npm)
	cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build

.PHONY: ui-build-if-node
ui-build-if-node:
	@if [ -f ui/package.json ] && command -v npm >/dev/null 2>&1; then \
	  if [ ! -f ui/dist/index.html ] || [ -n "$$(find ui/src ui/index.html ui/package.json -newer ui/dist/index.html 2>/dev/null | head -n1)" ]; then \
	    $(MAKE) --no-print-directory ui; \
	  fi; \
	else echo "==> Node.js not found: building without the dashboard (the CLI, SDK and API work)"; fi

.PHONY: tools
tools: ## Build the pinned code generators into bin/tools (from tools/go.mod)
	@mkdir -p $(TOOLS_BIN)
	cd tools && GOBIN=$(TOOLS_BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc \
	  github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv3

.PHONY: generate
generate: tools ## Regenerate gen/ (Go, gRPC, gateway, OpenAPI) from proto/ and the CLI reference
	@hack/ensure-packages.sh $(GEN_PACKAGES)
	@rm -rf gen/go && mkdir -p gen/go/gateway gen/openapi .cache/openapi
	protoc -I proto -I $(GOOGLEAPIS) -I /usr/include \
	  --plugin=protoc-gen-go=$(TOOLS_BIN)/protoc-gen-go --plugin=protoc-gen-go-grpc=$(TOOLS_BIN)/protoc-gen-go-grpc \
	  --plugin=protoc-gen-grpc-gateway=$(TOOLS_BIN)/protoc-gen-grpc-gateway --plugin=protoc-gen-openapiv3=$(TOOLS_BIN)/protoc-gen-openapiv3 \
	  --go_out=gen/go --go_opt=paths=source_relative,$(PROTO_M) \
	  --go-grpc_out=gen/go --go-grpc_opt=paths=source_relative,$(PROTO_M) \
	  --grpc-gateway_out=gen/go/gateway --grpc-gateway_opt=paths=source_relative,standalone=true,$(PROTO_M) \
	  --openapiv3_out=.cache/openapi --openapiv3_opt=$(PROTO_M) \
	  proto/odh/training/v1/training.proto
	cp .cache/openapi/odh/training/v1/training.openapi.json gen/openapi/training.openapi.json
	$(GO) run ./hack/gendocs docs/reference/cli
	@if command -v node >/dev/null 2>&1; then node ui/scripts/gen-api-types.mjs; \
	else echo "==> Node.js not found: ui/src/api/*.gen.ts not regenerated (the UI tests will say if they are stale)"; fi

PROTO_M := Mgoogle/api/annotations.proto=google.golang.org/genproto/googleapis/api/annotations,Mgoogle/api/http.proto=google.golang.org/genproto/googleapis/api/annotations

.PHONY: verify
verify: verify-tidy verify-generated lint ## Check that go.mod is tidy, generated code and docs are fresh, and run the linters

.PHONY: verify-generated
verify-generated: generate ## Regenerate and fail if gen/, docs/reference/cli or the UI's API types changed
	@if [ -n "$$(git status --porcelain -- gen docs/reference/cli ui/src/api/openapi.gen.ts ui/src/api/schema.gen.ts)" ]; then \
	  git --no-pager diff --stat -- gen docs/reference/cli ui/src/api/*.gen.ts; git status --porcelain -- gen docs/reference/cli ui/src/api/*.gen.ts; \
	  echo "error: generated files are stale; run 'make generate' and commit the result" >&2; exit 1; fi

.PHONY: verify-tidy
verify-tidy: ## Fail when a go.mod or go.sum is not what `go mod tidy` makes (direct requirements marked, nothing missing or unused)
	@for m in $(TIDY_MODULES); do \
	  if ! out="$$(cd $$m && GOFLAGS=-mod=mod $(GO) mod tidy -diff 2>&1)"; then \
	    echo "$$out" | head -n 40; echo "error: $$m/go.mod is not tidy; run 'cd $$m && go mod tidy' and commit the result" >&2; exit 1; fi; \
	done

.PHONY: verify-darwin
verify-darwin: ## Cross-compile the programs for macOS (arm64) and vet every package as macOS builds it
	GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./cmd/...
	GOOS=darwin GOARCH=arm64 $(GO) vet ./...

.PHONY: lint
lint: ## go vet and gofmt
	$(GO) vet ./...
	@out="$$(gofmt -l cmd internal test hack gen 2>/dev/null)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

##@ Test

.PHONY: test-go
test-go: ## Go unit, service, CLI and end-to-end tests (real mpirun) incl. fuzz seed corpora
	$(GO) test -count=1 ./...

.PHONY: test-sdk
test-sdk: build ## Python SDK tests (unit + against a real odh-server)
	@if [ -x sdk/python/run-tests.sh ]; then ODH_SERVER_BIN=$(BIN)/odh-server sdk/python/run-tests.sh; else echo "==> no SDK tests yet"; fi

.PHONY: test-ui
test-ui: ## Dashboard tests: Vitest components and Playwright end-to-end in headless Chromium
	@if [ -f ui/package.json ]; then $(MAKE) --no-print-directory ui build && cd ui && npm run test && ODH_SERVER_BIN=$(BIN)/odh-server npm run e2e; else echo "==> no UI yet"; fi

.PHONY: test-integration
test-integration: ## Kubernetes engine tests against the real control-plane harness (builds it on first use)
	@if [ -d test/integration ]; then \
	  $(MAKE) --no-print-directory cluster-up && \
	  status=0; $(GO) test -tags integration -count=1 -timeout 40m ./test/cluster/... ./test/integration/... || status=$$?; \
	  $(MAKE) --no-print-directory cluster-down; exit $$status; \
	else \
	  $(MAKE) --no-print-directory cluster-up && status=0; $(GO) test -tags integration -count=1 ./test/cluster/... || status=$$?; \
	  $(MAKE) --no-print-directory cluster-down; exit $$status; \
	fi

.PHONY: vulncheck
vulncheck: ## govulncheck: fail on vulnerable modules the code calls, warn on the toolchain's (VULNCHECK_STDLIB=fail to fail); offline database when vuln.go.dev is unreachable
	@hack/vulncheck.sh

.PHONY: fuzz
FUZZTIME ?= 60s
fuzz: ## Run every fuzz target (spec parser and validator, upstream manifests, REST bodies, admission reviews) for FUZZTIME each (seeds also run in test-go)
	@GO=$(GO) FUZZTIME=$(FUZZTIME) hack/fuzz.sh

##@ Benchmarks

.PHONY: bench
bench: build ## Run the benchmarks (results: docs/benchmarks.md)
	$(GO) run ./test/bench -server $(BIN)/odh-server

include test/cluster/cluster.mk

##@ Help

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} \
	  /^[a-zA-Z0-9_-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

.PHONY: clean
clean: ## Remove build output (bin/, ui/dist)
	rm -rf $(BIN) .cache
	find ui/dist -mindepth 1 ! -name .keep -delete 2>/dev/null || true
