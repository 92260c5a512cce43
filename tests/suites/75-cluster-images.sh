#!/usr/bin/env bash
# The test cluster's images (scripts/cluster/images.sh), without a cluster:
#   - images.sh is shellcheck-clean; `build` builds or reuses every image, a second `build`
#     reuses every one;
#   - write-api/read-api agree with docker/Dockerfile's final stages (tests/cluster/image_parity.py);
#   - the MariaDB image runs mariadbd as 999:999 and answers SELECT VERSION() with every command
#     of the mysql chart's scripts present (tests/cluster/mariadb-image-smoke.sh, runc).
# Needs root (mmdebstrap, runc). Platform images whose binaries scripts/cluster/build.sh has not
# built yet are skipped by `build`, as it says.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PATH="$repo/bin:$repo/.venv/bin:$PATH"
images="$repo/scripts/cluster/images.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/catalog-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

# shellcheck source=tests/lib.sh
. "$repo/tests/lib.sh"

check "images.sh is shellcheck-clean" shellcheck "$images" "$repo/tests/cluster/mariadb-image-smoke.sh"
check "images.sh build" "$images" build
rebuilt() { "$images" build 2>&1 >/dev/null | grep -E ': building$' && return 1 || return 0; }
check "a second build reuses every image" rebuilt
check "write-api/read-api images match docker/Dockerfile" python3 "$repo/tests/cluster/image_parity.py"
check "MariaDB image answers SELECT VERSION() as 999:999" "$repo/tests/cluster/mariadb-image-smoke.sh"

[ $failed -eq 0 ]
