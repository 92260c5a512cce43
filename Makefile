# Entry points. `make test` is the one command CI runs (.ci/run).
.PHONY: tools test

# Install every tool the tests need (idempotent).
tools:
	scripts/install-tools.sh

# Install tools, then run every suite in tests/suites/.
test: tools
	scripts/test.sh
