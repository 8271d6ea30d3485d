# Control-plane harness targets (test/cluster). Included by the main Makefile:
#   include test/cluster/cluster.mk
# Uses $(GO) (default go). Binaries go to bin/cluster/, runtime state to .cluster/.

GO ?= go
ODH_CLUSTER ?= $(GO) run ./test/cluster/cmd/odh-cluster

##@ Cluster

.PHONY: cluster-build cluster-up cluster-down cluster-purge cluster-status cluster-env cluster-test

cluster-build: ## Build the pinned control-plane binaries only (bin/cluster/, rebuilt when a pin changes)
	$(ODH_CLUSTER) build

cluster-up: ## Build (if needed) and start the local control-plane harness (reuses a healthy one)
	$(ODH_CLUSTER) up

cluster-down: ## Stop the harness and remove its etcd data (keeps PKI, kubeconfigs, logs)
	$(ODH_CLUSTER) down

cluster-purge: ## Stop the harness and remove all of .cluster/
	$(ODH_CLUSTER) down --purge

cluster-status: ## Show the harness components, ports, nodes (exit 1 unless healthy)
	$(ODH_CLUSTER) status

cluster-env: ## Print shell exports for the harness (eval "$$(make -s cluster-env)")
	@$(ODH_CLUSTER) env

cluster-test: ## Run the harness smoke integration test (starts the harness if needed)
	$(GO) test -tags integration -count=1 ./test/cluster/...
