#!/usr/bin/env bash
# charts/mysql: static checks of the chart (lint, helm-unittest, schema validation, policy scan,
# alert rules), then its scripts against real mariadbd processes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

status=0
bash scripts/chart-docs.sh --check charts/mysql || status=1
bash tests/mysql/static.sh || status=1
bash tests/mysql/integration.sh || status=1
exit $status
