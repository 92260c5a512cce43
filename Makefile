# Entry points. `make test` is the one command CI runs (.ci/run).
.PHONY: tools test

# Install every tool the tests need (idempotent).
tools:
	scripts/install-tools.sh

# Install tools, then run every suite in tests/suites/.
test: tools
	scripts/test.sh

# The whole product as local processes (docs/local-stack.md): MariaDB primary + replica, both
# APIs, nginx as the Ingress, Prometheus with the chart's rules. State and logs in .state/.
.PHONY: up down hpa-dry-run bench
up: tools
	scripts/local-stack/stack.sh up

down:
	scripts/local-stack/stack.sh down

# k6's hpa scenario against the running stack while sampling each API's CPU (make up first).
hpa-dry-run:
	scripts/local-stack/hpa-dry-run.sh

# Performance figures and baselines into docs/benchmarks.md (not part of CI; starts its own stack).
bench: tools
	scripts/local-stack/bench.sh

# A real single-node Kubernetes on this machine with the product deployed by helmfile
# (docs/test-cluster.md). Needs root; prints the kubeconfig to use. cluster-down removes it all.
# cluster-figures: the cluster suite, writing its figures to docs/cluster-figures.md.
.PHONY: cluster-up cluster-down cluster-figures
cluster-up: tools
	scripts/cluster/cluster.sh up
	scripts/cluster/deploy.sh
	@echo "export KUBECONFIG=$(CURDIR)/.state/cluster/admin.kubeconfig PATH=$(CURDIR)/bin:\$$PATH"

cluster-down:
	scripts/cluster/cluster.sh down

cluster-figures: tools
	CLUSTER_FIGURES=$(CURDIR)/docs/cluster-figures.md scripts/test.sh cluster
