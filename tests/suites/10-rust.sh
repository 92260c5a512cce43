#!/usr/bin/env bash
# The Rust workspace: formatting, lints as errors, then every unit and integration test.
# Integration tests start real MariaDB servers (test-support) and spawn the services on free
# loopback ports; schemathesis comes from .venv (scripts/install-tools.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
