#!/usr/bin/env bash
# The Rust workspace: formatting, lints as errors, then every unit and integration test.
# Integration tests start real MariaDB 11.8 servers (test-support, from bin/'s launchers) and spawn the services on free
# loopback ports; schemathesis comes from .venv (scripts/install-tools.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
# The MariaDB the integration tests ran (SELECT VERSION() on a primary and its replica).
cargo test --locked -p test-support --test cluster -- --exact \
  the_servers_run_the_mariadb_series_the_chart_deploys --nocapture
